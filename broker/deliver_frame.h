/*  deliver_frame: builds the packed Frame{deliver: {signal, accepted_at_ms}}
    around a SealedSignal that is already packed, without unpacking and
    repacking it. The broker stores each accepted signal packed once and
    sends it to every recipient (and again after every reconnect), so this
    keeps protobuf work off the delivery path. The output is exactly what
    protobuf-c packs for the same message (tests check that).
*/
#ifndef HARTSLAG_DELIVER_FRAME_H
#define HARTSLAG_DELIVER_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the frame adds around the sealed signal, at most. */
#define DELIVER_FRAME_OVERHEAD 32

/* Writes the frame into `out` (capacity `cap`, at least sealed_len +
   DELIVER_FRAME_OVERHEAD). Returns the frame length, or 0 when it does not fit. */
size_t deliver_frame_encode(uint8_t *out, size_t cap, const uint8_t *sealed, size_t sealed_len,
                            uint64_t accepted_at_ms);

#endif
