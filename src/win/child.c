/* Child processes on Windows: a watch opens the process by its id, the
 * IOCP backend waits on the handle (proc.c), and the exit code is read
 * from it. Windows has no parent check to make: any process the caller
 * may open for waiting can be watched. Nothing is reaped: a process
 * object goes away with its last handle. */
#include "win.h"
#include "core.h"

int evq__child_signal(void) { return 0; }

int evq__child_open(evq__reg_t *reg) {
  HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                         FALSE, (DWORD)reg->ident);
  if (!h) {
    DWORD err = GetLastError();
    return err == ERROR_INVALID_PARAMETER ? EVQ_ENOENT : evq__from_win32(err);
  }
  reg->handle = (intptr_t)h;
  return 0;
}

int evq__child_reap(evq__reg_t *reg, uint32_t *flags, uint32_t *data) {
  HANDLE h = (HANDLE)reg->handle;
  DWORD r = WaitForSingleObject(h, 0);
  if (r == WAIT_TIMEOUT) return 0;
  if (r != WAIT_OBJECT_0) return evq__from_win32(GetLastError());
  DWORD code;
  if (!GetExitCodeProcess(h, &code)) return evq__from_win32(GetLastError());
  *flags = 0;
  *data = code;
  return 1;
}

void evq__child_close(evq__reg_t *reg) {
  if (reg->handle != -1) CloseHandle((HANDLE)reg->handle);
  reg->handle = -1;
}
