/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, which wine 8 lacks.
 * Rust's standard library takes its random bytes from ProcessPrng there
 * (Windows 10 and later have it); without the DLL the addon does not load
 * under wine. scripts/test-platforms.js builds this with zig into its wine
 * prefix only: it is never part of a package.
 */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
