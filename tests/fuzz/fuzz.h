/* fuzz.h - what every libFuzzer harness in tests/fuzz shares: the entry
 * points' prototypes (-Wmissing-prototypes) and the chunk-size choice. */
#ifndef POSTERN_TESTS_FUZZ_FUZZ_H
#define POSTERN_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The chunk size a harness feeds its parser with, from the input's first
 * byte: 1 to 32 bytes, or (byte >= 0xF0) the whole rest at once, so the
 * fuzzer explores splits as well as content. */
static inline size_t
fuzz_chunk(uint8_t first, size_t rest)
{
    if (first >= 0xF0)
        return rest > 0 ? rest : 1;
    return (size_t)(first % 32) + 1;
}

#endif
