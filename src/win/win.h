/* Declarations shared by the Windows platform layer, the socket helpers and
 * the IOCP backend. Only src/win/ includes this (and so <windows.h>). */
#ifndef EVQ_WIN_H
#define EVQ_WIN_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: GQCSEx, SRW locks, no-inherit */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif

#include <winsock2.h> /* before windows.h, which would pull winsock 1 */
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <winternl.h>

#include "backend.h"

/* Win32 or Winsock error (GetLastError, WSAGetLastError) -> EVQ_E*. */
int evq__from_win32(DWORD err);

/* NTSTATUS (native API results, AFD poll status) -> EVQ_E*. */
int evq__from_ntstatus(NTSTATUS status);

/* What a lifetime state of the IOCP backend is (sock.h, proc.h). */
enum { EVQ__WIN_SOCK = 1, EVQ__WIN_PROC = 2 };

/* Runs the console control handler for an event (signal.c; tests). */
BOOL evq__console_event(DWORD type);

/* Initialises Winsock once per process; thread-safe. 0 or EVQ_E*. */
int evq__winsock_init(void);

#endif
