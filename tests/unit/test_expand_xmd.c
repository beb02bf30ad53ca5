/*  Tests for lib/expand_xmd: the RFC 9380 Appendix K.3 vectors
    (expand_message_xmd(SHA-512), DST "QUUX-V01-CS02-with-expander-SHA512-256"),
    copied from the RFC text (draft-irtf-cfrg-hash-to-curve-15 §K.3, unchanged
    in RFC 9380), and the limits of expand_xmd.h. */
#include <criterion/criterion.h>
#include <string.h>

#include <sodium.h>

#include "expand_xmd.h"

#define K3_DST "QUUX-V01-CS02-with-expander-SHA512-256"

typedef struct {
    const char *msg; /* "", "abc", "abcdef0123456789", or "q128_" / "a512_" (then repeated) */
    size_t len_in_bytes;
    const char *hex; /* uniform_bytes */
} k3_t;

static const k3_t s_k3[] = {
    {"", 0x20, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"},
    {"abc", 0x20, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"},
    {"abcdef0123456789", 0x20, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"},
    {"q128_", 0x20, "7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3"},
    {"a512_", 0x20, "57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4"},
    {"", 0x80,
     "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921b052b62eaed99b46f72f2ef4cc96"
     "bfaf254ebbbec091e1a3b9e4fb5e5b619d2e0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842c"
     "f5d13d7eb00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"},
    {"abc", 0x80,
     "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0cef"
     "4bb45217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c0419751c0659"
     "22b488431851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"},
    {"abcdef0123456789", 0x80,
     "3f721f208e6199fe903545abc26c837ce59ac6fa45733f1baaf0222f8b7acb0424814fcb5eecf6c1d38f06e9d0a6"
     "ccfbf85ae612ab8735dfdf9ce84c372a77c8f9e1c1e952c3a61b7567dd0693016af51d2745822663d0c2367e3f4f"
     "0bed827feecc2aaf98c949b5ed0d35c3f1023d64ad1407924288d366ea159f46287e61ac"},
    {"q128_", 0x80,
     "b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7317bf807c406e26373922b7b8920"
     "fa29142703dd52bdf280084fb7ef69da78afdf80b3586395b433dc66cde048a258e476a561e9deba7060af40adf3"
     "0c64249ca7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed"},
    {"a512_", 0x80,
     "05b0bfef265dcee87654372777b7c44177e2ae4c13a27f103340d9cd11c86cb2426ffcad5bd964080c2aee97f03b"
     "e1ca18e30a1f14e27bc11ebbd650f305269cc9fb1db08bf90bfc79b42a952b46daf810359e7bc36452684784a649"
     "52c343c52e5124cd1f71d474d5197fefc571a92929c9084ffe1112cf5eea5192ebff330b"},
};

/* The K.3 message: "q128_" then 128 'q', "a512_" then 512 'a', else as is. */
static size_t s_msg(const char *name, uint8_t *buf, size_t cap)
{
    size_t n = strlen(name), rep = 0;
    char fill = 0;
    if (strcmp(name, "q128_") == 0) {
        rep = 128;
        fill = 'q';
    } else if (strcmp(name, "a512_") == 0) {
        rep = 512;
        fill = 'a';
    }
    cr_assert_leq(n + rep, cap);
    memcpy(buf, name, n);
    memset(buf + n, fill, rep);
    return n + rep;
}

static size_t s_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t bin_len = 0;
    cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &bin_len, NULL), 0);
    return bin_len;
}

Test(expand_xmd, rfc9380_k3_sha512)
{
    for (size_t i = 0; i < sizeof s_k3 / sizeof s_k3[0]; i++) {
        uint8_t msg[600], want[0x80], got[0x80];
        size_t msg_len = s_msg(s_k3[i].msg, msg, sizeof msg);
        size_t want_len = s_unhex(s_k3[i].hex, want, sizeof want);
        cr_assert_eq(want_len, s_k3[i].len_in_bytes, "vector %zu", i);
        memset(got, 0xee, sizeof got);
        cr_assert_eq(expand_xmd_sha512(msg, msg_len, (const uint8_t *)K3_DST, strlen(K3_DST), got,
                                       s_k3[i].len_in_bytes),
                     0);
        cr_assert(memcmp(got, want, want_len) == 0, "vector %zu (msg %s, len 0x%zx)", i,
                  s_k3[i].msg, s_k3[i].len_in_bytes);
        /* Nothing past len_in_bytes is touched. */
        for (size_t j = want_len; j < sizeof got; j++)
            cr_assert_eq(got[j], 0xee);
    }
}

/* A NULL message of length 0 is the empty message. */
Test(expand_xmd, null_empty_message)
{
    uint8_t a[32], b[32];
    cr_assert_eq(expand_xmd_sha512(NULL, 0, (const uint8_t *)K3_DST, strlen(K3_DST), a, 32), 0);
    cr_assert_eq(
        expand_xmd_sha512((const uint8_t *)"", 0, (const uint8_t *)K3_DST, strlen(K3_DST), b, 32),
        0);
    cr_assert(memcmp(a, b, 32) == 0);
}

/* A shorter output is not a prefix of a longer one: len_in_bytes is hashed. */
Test(expand_xmd, length_is_bound)
{
    uint8_t a[64], b[128];
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"abc", 3, (const uint8_t *)K3_DST,
                                   strlen(K3_DST), a, sizeof a),
                 0);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"abc", 3, (const uint8_t *)K3_DST,
                                   strlen(K3_DST), b, sizeof b),
                 0);
    cr_assert(memcmp(a, b, sizeof a) != 0);
}

Test(expand_xmd, limits)
{
    static uint8_t out[EXPAND_XMD_OUT_MAX + 1];
    uint8_t dst[EXPAND_XMD_DST_MAX + 1];
    memset(dst, 'D', sizeof dst);

    /* The largest output and the longest DST are accepted ... */
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, EXPAND_XMD_DST_MAX, out,
                                   EXPAND_XMD_OUT_MAX),
                 0);
    /* ... one more of either is refused and writes nothing. */
    memset(out, 0xee, sizeof out);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, 8, out, EXPAND_XMD_OUT_MAX + 1),
                 -1);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, EXPAND_XMD_DST_MAX + 1, out, 32),
                 -1);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, 0, out, 32), -1);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, 8, out, 0), -1);
    cr_assert_eq(expand_xmd_sha512(NULL, 1, dst, 8, out, 32), -1);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, NULL, 8, out, 32), -1);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"m", 1, dst, 8, NULL, 32), -1);
    for (size_t i = 0; i < sizeof out; i++)
        cr_assert_eq(out[i], 0xee);
}

/* Different DSTs give unrelated outputs. */
Test(expand_xmd, dst_separates)
{
    uint8_t a[64], b[64];
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"x", 1, (const uint8_t *)"A", 1, a, 64), 0);
    cr_assert_eq(expand_xmd_sha512((const uint8_t *)"x", 1, (const uint8_t *)"B", 1, b, 64), 0);
    cr_assert(memcmp(a, b, 64) != 0);
}
