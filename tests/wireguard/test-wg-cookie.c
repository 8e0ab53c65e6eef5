/* test-wg-cookie.c: mac1, mac2 and cookie replies
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sodium.h>

#include "nb-wg-cookie.h"

typedef struct {
  guint8 responder_public[32];
  NbWgCookieChecker checker; /* the responder's */
  NbWgCookie cookie;         /* the initiator's, for the responder */
  guint8 msg[148];
} Fixture;

static const guint8 source_a[6] = { 198, 18, 0, 1, 0x1f, 0x90 };
static const guint8 source_b[6] = { 198, 18, 0, 2, 0x1f, 0x90 };

static void
setup (Fixture *f)
{
  g_assert_cmpint (sodium_init (), >=, 0);
  randombytes_buf (f->responder_public, 32);
  nb_wg_cookie_checker_init (&f->checker);
  nb_wg_cookie_checker_set_key (&f->checker, f->responder_public);
  nb_wg_cookie_init (&f->cookie, f->responder_public);
  randombytes_buf (f->msg, sizeof f->msg);
  f->msg[0] = 1;
  f->msg[1] = f->msg[2] = f->msg[3] = 0;
}

static void
teardown (Fixture *f)
{
  nb_wg_cookie_checker_clear (&f->checker);
  nb_wg_cookie_clear (&f->cookie);
}

static void
test_mac1 (void)
{
  Fixture f;
  const gint64 now = 1000 * G_USEC_PER_SEC;

  setup (&f);
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, FALSE, now), ==,
                   NB_WG_COOKIE_MAC_INVALID);
  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now);
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, FALSE, now), ==,
                   NB_WG_COOKIE_MAC_VALID_NO_COOKIE);
  /* mac1 covers the message: one flipped bit and it fails. */
  f.msg[50] ^= 0x10;
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, FALSE, now), ==,
                   NB_WG_COOKIE_MAC_INVALID);
  teardown (&f);
}

static void
test_mac1_other_key (void)
{
  Fixture f;
  NbWgCookie wrong;
  guint8 other[32];

  setup (&f);
  randombytes_buf (other, 32);
  nb_wg_cookie_init (&wrong, other);
  nb_wg_cookie_add_macs (&wrong, f.msg, 148, 1);
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, FALSE, 1), ==,
                   NB_WG_COOKIE_MAC_INVALID);
  nb_wg_cookie_clear (&wrong);
  teardown (&f);
}

static void
test_cookie_reply_and_mac2 (void)
{
  Fixture f;
  NbWgMessageCookieReply reply;
  gint64 now = 1000 * G_USEC_PER_SEC;

  setup (&f);
  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now);
  /* Under load: mac1 alone is not enough. */
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, TRUE, now), ==,
                   NB_WG_COOKIE_MAC_VALID_NO_COOKIE);
  nb_wg_cookie_create_reply (&f.checker, f.msg, 148, 0xabcdef, source_a, 6, now, &reply);
  g_assert_cmpuint (reply.header.type, ==, 3);
  g_assert_cmpuint (GUINT32_FROM_LE (reply.receiver_index), ==, 0xabcdef);
  g_assert_cmpuint (sizeof reply, ==, 64);

  g_assert_true (nb_wg_cookie_consume_reply (&f.cookie, &reply, now));
  /* A reply opens only once (it is bound to the last mac1 sent). */
  g_assert_false (nb_wg_cookie_consume_reply (&f.cookie, &reply, now));

  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now + 1);
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, TRUE, now + 1),
                   ==, NB_WG_COOKIE_MAC_VALID_WITH_COOKIE);
  /* The cookie is bound to the source address. */
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_b, 6, TRUE, now + 1),
                   ==, NB_WG_COOKIE_MAC_VALID_NO_COOKIE);
  teardown (&f);
}

static void
test_cookie_reply_tampered (void)
{
  Fixture f;
  NbWgMessageCookieReply reply;

  setup (&f);
  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, 1);
  nb_wg_cookie_create_reply (&f.checker, f.msg, 148, 1, source_a, 6, 1, &reply);
  reply.encrypted_cookie[0] ^= 1;
  g_assert_false (nb_wg_cookie_consume_reply (&f.cookie, &reply, 1));
  teardown (&f);
}

/* The secret changes every two minutes: older cookies stop working, and the
 * initiator stops using a cookie near that age (§5.4.7). */
static void
test_secret_rotation (void)
{
  Fixture f;
  NbWgMessageCookieReply reply;
  gint64 now = 1000 * G_USEC_PER_SEC;

  setup (&f);
  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now);
  nb_wg_cookie_create_reply (&f.checker, f.msg, 148, 1, source_a, 6, now, &reply);
  g_assert_true (nb_wg_cookie_consume_reply (&f.cookie, &reply, now));

  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now + 100 * G_USEC_PER_SEC);
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, TRUE,
                                          now + 100 * G_USEC_PER_SEC),
                   ==, NB_WG_COOKIE_MAC_VALID_WITH_COOKIE);
  /* After 121 s the responder's secret has expired. */
  g_assert_cmpint (nb_wg_cookie_validate (&f.checker, f.msg, 148, source_a, 6, TRUE,
                                          now + 121 * G_USEC_PER_SEC),
                   ==, NB_WG_COOKIE_MAC_VALID_NO_COOKIE);
  /* And the initiator no longer sends mac2 with a cookie that old. */
  nb_wg_cookie_add_macs (&f.cookie, f.msg, 148, now + 116 * G_USEC_PER_SEC);
  g_assert_true (sodium_is_zero (f.msg + 148 - 16, 16));
  teardown (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/cookie/mac1", test_mac1);
  g_test_add_func ("/wg/cookie/mac1-other-key", test_mac1_other_key);
  g_test_add_func ("/wg/cookie/reply-and-mac2", test_cookie_reply_and_mac2);
  g_test_add_func ("/wg/cookie/reply-tampered", test_cookie_reply_tampered);
  g_test_add_func ("/wg/cookie/secret-rotation", test_secret_rotation);
  return g_test_run ();
}
