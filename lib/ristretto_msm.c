/*  ristretto_msm: see ristretto_msm.h. Public values only: every branch
    here may depend on the data.

    Field GF(2^255 - 19) in five 51-bit limbs; points of the twisted
    Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 in extended coordinates
    (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z; the unified addition of Hisil,
    Wong, Carter and Dawson (complete on this curve, so the identity and
    doubling need no special case). Ristretto decoding and encoding follow
    RFC 9496 §4.3. */
#include "ristretto_msm.h"

#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

typedef struct {
    uint64_t v[5];
} fe_t;

typedef struct {
    fe_t x, y, z, t;
} point_t;

/* A point ready to be added: (Y+X, Y-X, 2Z, 2dT). */
typedef struct {
    fe_t y_plus_x, y_minus_x, z2, t2d;
} cached_t;

#define MASK51 ((UINT64_C(1) << 51) - 1)
#define WNAF_W 5
#define WNAF_TABLE (1 << (WNAF_W - 2)) /* odd multiples 1P, 3P, ..., 15P */
#define WNAF_LEN 260                   /* a scalar below 2^253 carries to bit 258 at most */

/* RFC 9496 §4.1 (d of RFC 7748, 2d, sqrt(-1), 1/sqrt(a - d)) in 51-bit limbs. */
static const fe_t s_d = {{UINT64_C(0x34dca135978a3), UINT64_C(0x1a8283b156ebd),
                          UINT64_C(0x5e7a26001c029), UINT64_C(0x739c663a03cbb),
                          UINT64_C(0x52036cee2b6ff)}};
static const fe_t s_d2 = {{UINT64_C(0x69b9426b2f159), UINT64_C(0x35050762add7a),
                           UINT64_C(0x3cf44c0038052), UINT64_C(0x6738cc7407977),
                           UINT64_C(0x2406d9dc56dff)}};
static const fe_t s_sqrt_m1 = {{UINT64_C(0x61b274a0ea0b0), UINT64_C(0xd5a5fc8f189d),
                                UINT64_C(0x7ef5e9cbd0c60), UINT64_C(0x78595a6804c9e),
                                UINT64_C(0x2b8324804fc1d)}};
static const fe_t s_invsqrt_a_minus_d = {{UINT64_C(0xfdaa805d40ea), UINT64_C(0x2eb482e57d339),
                                          UINT64_C(0x7610274bc58), UINT64_C(0x6510b613dc8ff),
                                          UINT64_C(0x786c8905cfaff)}};

/* ---- field ----------------------------------------------------------- */

static uint64_t s_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void s_store64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Bit 255 is ignored here; decoding checks canonicity by re-encoding. */
static void fe_frombytes(fe_t *h, const uint8_t s[32])
{
    h->v[0] = s_load64(s) & MASK51;
    h->v[1] = (s_load64(s + 6) >> 3) & MASK51;
    h->v[2] = (s_load64(s + 12) >> 6) & MASK51;
    h->v[3] = (s_load64(s + 19) >> 1) & MASK51;
    h->v[4] = (s_load64(s + 24) >> 12) & MASK51;
}

/* Keeps every limb at most 2^51 + a few hundred, the bound the other
   operations assume. */
static void fe_carry(fe_t *h)
{
    uint64_t c;
    c = h->v[0] >> 51, h->v[0] &= MASK51, h->v[1] += c;
    c = h->v[1] >> 51, h->v[1] &= MASK51, h->v[2] += c;
    c = h->v[2] >> 51, h->v[2] &= MASK51, h->v[3] += c;
    c = h->v[3] >> 51, h->v[3] &= MASK51, h->v[4] += c;
    c = h->v[4] >> 51, h->v[4] &= MASK51, h->v[0] += 19 * c;
}

/* The unique representative below p. */
static void fe_tobytes(uint8_t s[32], const fe_t *f)
{
    fe_t h = *f;
    fe_carry(&h);
    fe_carry(&h);
    /* h < 2^255 + small; subtract p once if h >= p. */
    uint64_t q = (h.v[0] + 19) >> 51;
    q = (h.v[1] + q) >> 51;
    q = (h.v[2] + q) >> 51;
    q = (h.v[3] + q) >> 51;
    q = (h.v[4] + q) >> 51;
    h.v[0] += 19 * q;
    uint64_t c;
    c = h.v[0] >> 51, h.v[0] &= MASK51, h.v[1] += c;
    c = h.v[1] >> 51, h.v[1] &= MASK51, h.v[2] += c;
    c = h.v[2] >> 51, h.v[2] &= MASK51, h.v[3] += c;
    c = h.v[3] >> 51, h.v[3] &= MASK51, h.v[4] += c;
    h.v[4] &= MASK51;
    s_store64(s, h.v[0] | h.v[1] << 51);
    s_store64(s + 8, h.v[1] >> 13 | h.v[2] << 38);
    s_store64(s + 16, h.v[2] >> 26 | h.v[3] << 25);
    s_store64(s + 24, h.v[3] >> 39 | h.v[4] << 12);
}

static void fe_one(fe_t *h)
{
    memset(h, 0, sizeof *h);
    h->v[0] = 1;
}

static void fe_add(fe_t *h, const fe_t *f, const fe_t *g)
{
    for (int i = 0; i < 5; i++)
        h->v[i] = f->v[i] + g->v[i];
    fe_carry(h);
}

/* f + 4p - g: no limb goes below zero for carried inputs. */
static void fe_sub(fe_t *h, const fe_t *f, const fe_t *g)
{
    h->v[0] = f->v[0] + (UINT64_C(4) * ((UINT64_C(1) << 51) - 19)) - g->v[0];
    for (int i = 1; i < 5; i++)
        h->v[i] = f->v[i] + (UINT64_C(4) * MASK51) - g->v[i];
    fe_carry(h);
}

static void fe_neg(fe_t *h, const fe_t *f)
{
    fe_t zero;
    memset(&zero, 0, sizeof zero);
    fe_sub(h, &zero, f);
}

/* h = r0 + r1 2^51 + ... + r4 2^204 mod p, each ri below 2^115. */
static void fe_reduce_wide(fe_t *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
    r1 += (uint64_t)(r0 >> 51);
    r2 += (uint64_t)(r1 >> 51);
    r3 += (uint64_t)(r2 >> 51);
    r4 += (uint64_t)(r3 >> 51);
    h->v[0] = ((uint64_t)r0 & MASK51) + 19 * (uint64_t)(r4 >> 51);
    h->v[1] = (uint64_t)r1 & MASK51;
    h->v[2] = (uint64_t)r2 & MASK51;
    h->v[3] = (uint64_t)r3 & MASK51;
    h->v[4] = (uint64_t)r4 & MASK51;
    h->v[1] += h->v[0] >> 51;
    h->v[0] &= MASK51;
}

static void fe_mul(fe_t *h, const fe_t *f, const fe_t *g)
{
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    u128 r0 =
        (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
    u128 r1 =
        (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
    u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
    u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
    u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
    fe_reduce_wide(h, r0, r1, r2, r3, r4);
}

/* fe_mul(h, f, f) with the symmetric products once: squarings are most of
   a decode's and an encode's square root. */
static void fe_sq(fe_t *h, const fe_t *f)
{
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3;
    const uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
    u128 r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)f2_2 * f3_19;
    u128 r1 = (u128)f0_2 * f1 + (u128)f2_2 * f4_19 + (u128)f3 * f3_19;
    u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_2 * f4_19;
    u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
    u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
    fe_reduce_wide(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe_t *h, const fe_t *f, int n)
{
    fe_sq(h, f);
    while (--n > 0)
        fe_sq(h, h);
}

static int fe_equal(const fe_t *f, const fe_t *g)
{
    uint8_t a[32], b[32];
    fe_tobytes(a, f);
    fe_tobytes(b, g);
    return memcmp(a, b, 32) == 0;
}

static int fe_is_negative(const fe_t *f)
{
    uint8_t s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static int fe_is_zero(const fe_t *f)
{
    static const uint8_t zero[32];
    uint8_t s[32];
    fe_tobytes(s, f);
    return memcmp(s, zero, 32) == 0;
}

static void fe_abs(fe_t *h, const fe_t *f)
{
    if (fe_is_negative(f))
        fe_neg(h, f);
    else
        *h = *f;
}

/* z^((p-5)/8) = z^(2^252 - 3), by the usual addition chain. */
static void fe_pow22523(fe_t *out, const fe_t *z)
{
    fe_t t0, t1, t2;
    fe_sq(&t0, z);         /* 2 */
    fe_sqn(&t1, &t0, 2);   /* 8 */
    fe_mul(&t1, z, &t1);   /* 9 */
    fe_mul(&t0, &t0, &t1); /* 11 */
    fe_sq(&t0, &t0);       /* 22 */
    fe_mul(&t0, &t1, &t0); /* 31 = 2^5 - 1 */
    fe_sqn(&t1, &t0, 5);   /* 2^10 - 2^5 */
    fe_mul(&t0, &t1, &t0); /* 2^10 - 1 */
    fe_sqn(&t1, &t0, 10);  /* 2^20 - 2^10 */
    fe_mul(&t1, &t1, &t0); /* 2^20 - 1 */
    fe_sqn(&t2, &t1, 20);  /* 2^40 - 2^20 */
    fe_mul(&t1, &t2, &t1); /* 2^40 - 1 */
    fe_sqn(&t1, &t1, 10);  /* 2^50 - 2^10 */
    fe_mul(&t0, &t1, &t0); /* 2^50 - 1 */
    fe_sqn(&t1, &t0, 50);  /* 2^100 - 2^50 */
    fe_mul(&t1, &t1, &t0); /* 2^100 - 1 */
    fe_sqn(&t2, &t1, 100); /* 2^200 - 2^100 */
    fe_mul(&t1, &t2, &t1); /* 2^200 - 1 */
    fe_sqn(&t1, &t1, 50);  /* 2^250 - 2^50 */
    fe_mul(&t0, &t1, &t0); /* 2^250 - 1 */
    fe_sqn(&t0, &t0, 2);   /* 2^252 - 4 */
    fe_mul(out, &t0, z);   /* 2^252 - 3 */
}

/* RFC 9496 §4.2 SQRT_RATIO_M1(u, v): returns was_square. */
static int s_sqrt_ratio_m1(fe_t *r, const fe_t *u, const fe_t *v)
{
    fe_t v3, v7, uv3, uv7, check, u_neg, u_neg_i, r_prime;
    fe_sq(&v3, v);
    fe_mul(&v3, &v3, v); /* v^3 */
    fe_sq(&v7, &v3);
    fe_mul(&v7, &v7, v); /* v^7 */
    fe_mul(&uv3, u, &v3);
    fe_mul(&uv7, u, &v7);
    fe_pow22523(&uv7, &uv7);
    fe_mul(r, &uv3, &uv7);
    fe_sq(&check, r);
    fe_mul(&check, &check, v);
    fe_neg(&u_neg, u);
    fe_mul(&u_neg_i, &u_neg, &s_sqrt_m1);
    int correct = fe_equal(&check, u);
    int flipped = fe_equal(&check, &u_neg);
    int flipped_i = fe_equal(&check, &u_neg_i);
    if (flipped || flipped_i) {
        fe_mul(&r_prime, r, &s_sqrt_m1);
        *r = r_prime;
    }
    fe_abs(r, r);
    return correct || flipped;
}

/* ---- ristretto255 encoding (RFC 9496 §4.3) ---------------------------- */

static int s_decode(point_t *p, const uint8_t bytes[32])
{
    fe_t s, one, ss, u1, u2, u2_sqr, v, t, invsqrt, den_x, den_y;
    uint8_t back[32];
    fe_frombytes(&s, bytes);
    fe_tobytes(back, &s);
    if (memcmp(back, bytes, 32) != 0 || (bytes[0] & 1))
        return -1; /* not canonical (>= p, bit 255) or negative */
    fe_one(&one);
    fe_sq(&ss, &s);
    fe_sub(&u1, &one, &ss);
    fe_add(&u2, &one, &ss);
    fe_sq(&u2_sqr, &u2);
    fe_sq(&t, &u1);
    fe_mul(&t, &t, &s_d);
    fe_neg(&t, &t);
    fe_sub(&v, &t, &u2_sqr); /* -(D * u1^2) - u2^2 */
    fe_mul(&t, &v, &u2_sqr);
    int was_square = s_sqrt_ratio_m1(&invsqrt, &one, &t);
    fe_mul(&den_x, &invsqrt, &u2);
    fe_mul(&den_y, &invsqrt, &den_x);
    fe_mul(&den_y, &den_y, &v);
    fe_add(&t, &s, &s);
    fe_mul(&t, &t, &den_x);
    fe_abs(&p->x, &t);
    fe_mul(&p->y, &u1, &den_y);
    fe_one(&p->z);
    fe_mul(&p->t, &p->x, &p->y);
    if (!was_square || fe_is_negative(&p->t) || fe_is_zero(&p->y))
        return -1;
    return 0;
}

static void s_encode(uint8_t out[32], const point_t *p)
{
    fe_t u1, u2, t, one, invsqrt, den1, den2, z_inv, ix, iy, enchanted, x, y, den_inv;
    fe_add(&u1, &p->z, &p->y);
    fe_sub(&t, &p->z, &p->y);
    fe_mul(&u1, &u1, &t);
    fe_mul(&u2, &p->x, &p->y);
    fe_sq(&t, &u2);
    fe_mul(&t, &t, &u1);
    fe_one(&one);
    (void)s_sqrt_ratio_m1(&invsqrt, &one, &t);
    fe_mul(&den1, &invsqrt, &u1);
    fe_mul(&den2, &invsqrt, &u2);
    fe_mul(&z_inv, &den1, &den2);
    fe_mul(&z_inv, &z_inv, &p->t);
    fe_mul(&ix, &p->x, &s_sqrt_m1);
    fe_mul(&iy, &p->y, &s_sqrt_m1);
    fe_mul(&enchanted, &den1, &s_invsqrt_a_minus_d);
    fe_mul(&t, &p->t, &z_inv);
    if (fe_is_negative(&t)) { /* rotate */
        x = iy;
        y = ix;
        den_inv = enchanted;
    } else {
        x = p->x;
        y = p->y;
        den_inv = den2;
    }
    fe_mul(&t, &x, &z_inv);
    if (fe_is_negative(&t))
        fe_neg(&y, &y);
    fe_sub(&t, &p->z, &y);
    fe_mul(&t, &den_inv, &t);
    fe_abs(&t, &t);
    fe_tobytes(out, &t);
}

/* ---- points ----------------------------------------------------------- */

static void s_identity(point_t *p)
{
    memset(p, 0, sizeof *p);
    p->y.v[0] = 1;
    p->z.v[0] = 1;
}

static void s_cache(cached_t *c, const point_t *p)
{
    fe_add(&c->y_plus_x, &p->y, &p->x);
    fe_sub(&c->y_minus_x, &p->y, &p->x);
    fe_add(&c->z2, &p->z, &p->z);
    fe_mul(&c->t2d, &p->t, &s_d2);
}

/* r = p + q, or p - q when `negate`. */
static void s_add(point_t *r, const point_t *p, const cached_t *q, int negate)
{
    fe_t a, b, c, d, e, f, g, h;
    fe_sub(&a, &p->y, &p->x);
    fe_mul(&a, &a, negate ? &q->y_plus_x : &q->y_minus_x);
    fe_add(&b, &p->y, &p->x);
    fe_mul(&b, &b, negate ? &q->y_minus_x : &q->y_plus_x);
    fe_mul(&c, &p->t, &q->t2d);
    fe_mul(&d, &p->z, &q->z2);
    fe_sub(&e, &b, &a);
    if (negate) {
        fe_add(&f, &d, &c);
        fe_sub(&g, &d, &c);
    } else {
        fe_sub(&f, &d, &c);
        fe_add(&g, &d, &c);
    }
    fe_add(&h, &b, &a);
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

static void s_double(point_t *r, const point_t *p)
{
    fe_t a, b, c, e, f, g, h, xy;
    fe_sq(&a, &p->x);
    fe_sq(&b, &p->y);
    fe_sq(&c, &p->z);
    fe_add(&c, &c, &c);
    fe_add(&h, &a, &b);
    fe_add(&xy, &p->x, &p->y);
    fe_sq(&xy, &xy);
    fe_sub(&e, &h, &xy);
    fe_sub(&g, &a, &b);
    fe_add(&f, &c, &g);
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

/* Width-5 non-adjacent form: odd digits in [-15, 15], at least five
   positions apart. Returns the highest non-zero position, or -1. */
static int s_wnaf(int8_t naf[WNAF_LEN], const uint8_t scalar[32])
{
    uint8_t bits[WNAF_LEN + WNAF_W];
    memset(bits, 0, sizeof bits);
    for (int i = 0; i < 256; i++)
        bits[i] = (scalar[i >> 3] >> (i & 7)) & 1;
    memset(naf, 0, WNAF_LEN);
    int top = -1;
    for (int i = 0; i < WNAF_LEN;) {
        if (!bits[i]) {
            i++;
            continue;
        }
        int window = 0;
        for (int j = 0; j < WNAF_W; j++) {
            window |= bits[i + j] << j;
            bits[i + j] = 0;
        }
        if (window > (1 << (WNAF_W - 1))) {
            window -= 1 << WNAF_W; /* borrow: carry one into bit i + w */
            int j = i + WNAF_W;
            while (bits[j])
                bits[j++] = 0;
            bits[j] = 1;
        }
        naf[i] = (int8_t)window;
        top = i;
        i += WNAF_W;
    }
    return top;
}

typedef struct {
    cached_t table[WNAF_TABLE];
    int8_t naf[WNAF_LEN];
} term_t;

int ristretto_msm_decodes(const uint8_t element[32])
{
    point_t p;
    return s_decode(&p, element);
}

int ristretto_msm(uint8_t out[32], const uint8_t (*scalars)[32], const uint8_t (*elements)[32],
                  size_t n)
{
    if (!out || !scalars || !elements || n == 0 || n > RISTRETTO_MSM_MAX)
        return -1;
    term_t *terms = malloc(n * sizeof *terms);
    if (!terms)
        return -1;
    int top = -1, rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        point_t p, twice, odd;
        if (scalars[i][31] >= 0x20 || s_decode(&p, elements[i]) != 0) {
            rc = -1;
            break;
        }
        int t = s_wnaf(terms[i].naf, scalars[i]);
        if (t > top)
            top = t;
        s_double(&twice, &p);
        cached_t twice_c;
        s_cache(&twice_c, &twice);
        s_cache(&terms[i].table[0], &p);
        odd = p;
        for (int k = 1; k < WNAF_TABLE; k++) {
            s_add(&odd, &odd, &twice_c, 0);
            s_cache(&terms[i].table[k], &odd);
        }
    }
    point_t sum;
    s_identity(&sum);
    for (int j = top; j >= 0 && rc == 0; j--) {
        s_double(&sum, &sum);
        for (size_t i = 0; i < n; i++) {
            int digit = terms[i].naf[j];
            if (digit > 0)
                s_add(&sum, &sum, &terms[i].table[digit / 2], 0);
            else if (digit < 0)
                s_add(&sum, &sum, &terms[i].table[-digit / 2], 1);
        }
    }
    free(terms);
    if (rc != 0)
        return -1;
    static const uint8_t identity[32];
    s_encode(out, &sum);
    return memcmp(out, identity, 32) == 0 ? -1 : 0;
}
