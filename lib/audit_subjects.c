/*  audit_subjects: the audit log's subject index; see audit_subjects.h. */
#include "audit_subjects.h"
#include "wire.h"

#include <string.h>

int64_t audit_subject_tag(const uint8_t subject[AUDIT_SUBJECT_BYTES])
{
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | subject[i];
    int64_t out;
    memcpy(&out, &tag, sizeof out); /* two's complement, no overflow */
    return out;
}

int audit_record_subject(const uint8_t *bytes, size_t len, const uint8_t **subject)
{
    const uint8_t *p = bytes, *end = bytes + len;
    const uint8_t *found = NULL;
    uint64_t found_len = 0;
    while (p < end) {
        uint64_t key, value;
        if (wire_varint_read(&p, end, &key) != 0 || key >> 3 == 0)
            return -1;
        uint64_t type = key & 7;
        if (type == 0) {
            if (wire_varint_read(&p, end, &value) != 0)
                return -1;
        } else if (type == 2) {
            if (wire_varint_read(&p, end, &value) != 0 || value > (uint64_t)(end - p))
                return -1;
            if (key >> 3 == 9) {
                found = p;
                found_len = value;
            }
            p += value;
        } else if (type == 1 || type == 5) {
            size_t skip = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip)
                return -1;
            p += skip;
        } else
            return -1;
    }
    if (!found || found_len != AUDIT_SUBJECT_BYTES)
        return 0;
    *subject = found;
    return 1;
}
