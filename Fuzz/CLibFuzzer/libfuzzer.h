// libFuzzer's own driver, for fuzz targets whose main() is Swift's (SwiftPM names each
// executable's entry point itself). Defined by the -sanitize=fuzzer runtime, LLVM 11 and later;
// see https://llvm.org/docs/LibFuzzer.html ("Using libFuzzer as a library"). Declaration only:
// plain builds never call it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
