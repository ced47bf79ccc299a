# Cross-compiling evq for 64-bit Windows with mingw-w64, and running what
# is built (ctest, the demo) under wine.
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#   cmake --build build-win && ctest --test-dir build-win
#
# Debian packages: gcc-mingw-w64-x86-64 (compiler), wine + wine64 (runner).
# Settings (cache variables, or -D on the first configure):
#   EVQ_MINGW_PREFIX  target triple of the compiler (x86_64-w64-mingw32)
#   EVQ_WINE          wine binary; found automatically, empty: no emulator
#   EVQ_WINEPREFIX    wine prefix for tests; default: $WINEPREFIX if set at
#                     configure time, else wine's own default (~/.wine)

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(EVQ_MINGW_PREFIX "x86_64-w64-mingw32" CACHE STRING
    "Target triple of the mingw-w64 cross compiler")

find_program(CMAKE_C_COMPILER NAMES ${EVQ_MINGW_PREFIX}-gcc)
if(NOT CMAKE_C_COMPILER)
  message(FATAL_ERROR "${EVQ_MINGW_PREFIX}-gcc not found "
                      "(Debian: apt-get install gcc-mingw-w64-x86-64)")
endif()
find_program(CMAKE_CXX_COMPILER NAMES ${EVQ_MINGW_PREFIX}-g++)
find_program(CMAKE_RC_COMPILER NAMES ${EVQ_MINGW_PREFIX}-windres)
find_program(CMAKE_AR NAMES ${EVQ_MINGW_PREFIX}-gcc-ar ${EVQ_MINGW_PREFIX}-ar)
find_program(CMAKE_RANLIB
             NAMES ${EVQ_MINGW_PREFIX}-gcc-ranlib ${EVQ_MINGW_PREFIX}-ranlib)

# Headers and libraries come from the mingw sysroot only; programs (the
# build's own tools) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${EVQ_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Static executables need no mingw runtime DLLs (libgcc, libwinpthread) on
# wine's path.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# The 64-bit loader: Debian installs it as /usr/lib/wine/wine64 with a
# /usr/bin/wine wrapper that nags about wine32 unless WINEDEBUG silences it;
# other distributions put wine64 or wine on PATH.
if(NOT DEFINED EVQ_WINE)
  find_program(EVQ_WINE_FOUND NAMES wine64 wine
               PATHS /usr/lib/wine /usr/lib64/wine /opt/wine-stable/bin
                     /opt/wine-devel/bin
               NO_CMAKE_FIND_ROOT_PATH)
  set(EVQ_WINE "${EVQ_WINE_FOUND}" CACHE FILEPATH "wine used to run tests")
endif()
if(NOT DEFINED EVQ_WINEPREFIX)
  set(EVQ_WINEPREFIX "$ENV{WINEPREFIX}" CACHE PATH "wine prefix for tests")
endif()

if(EVQ_WINE)
  # env sets wine's variables per run: quiet (WINEDEBUG=-all) and, when
  # chosen, a fixed prefix.
  set(_evq_wine_env WINEDEBUG=-all)
  if(EVQ_WINEPREFIX)
    list(APPEND _evq_wine_env WINEPREFIX=${EVQ_WINEPREFIX})
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR env ${_evq_wine_env} ${EVQ_WINE})
endif()
