/* nb-key.c: WireGuard (X25519) keys
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <sodium.h>

#include "nb-key-private.h"
#include "nb-sodium-private.h"

/**
 * NbKey:
 *
 * A WireGuard key: a Curve25519 key pair, or the public half alone.
 *
 * A peer is known by its public key. Its private key is generated on the
 * machine and never leaves it: #NbKey wipes it from memory when the object
 * is finalised, and nb_key_save_to_file() writes it readable by its owner
 * only.
 *
 * Keys read and write the 44-character base64 form that `wg genkey` and
 * `wg pubkey` use, byte for byte.
 *
 * ```c
 * g_autoptr(NbKey) key = nb_key_generate ();
 * g_print ("%s\n", nb_key_get_public_base64 (key));
 * ```
 */
struct _NbKey
{
  GObject parent_instance;

  gboolean has_private;
  guint8 private_key[NB_KEY_LEN];
  guint8 public_key[NB_KEY_LEN];
  char public_base64[NB_KEY_BASE64_LEN + 1];
};

G_DEFINE_TYPE (NbKey, nb_key, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-key-error-quark, nb_key_error)

enum {
  PROP_0,
  PROP_PUBLIC_KEY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
nb_key_finalize (GObject *object)
{
  NbKey *self = NB_KEY (object);

  sodium_memzero (self->private_key, sizeof self->private_key);

  G_OBJECT_CLASS (nb_key_parent_class)->finalize (object);
}

static void
nb_key_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  NbKey *self = NB_KEY (object);

  switch (prop_id)
    {
    case PROP_PUBLIC_KEY:
      g_value_set_string (value, self->public_base64);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_key_class_init (NbKeyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = nb_key_finalize;
  object_class->get_property = nb_key_get_property;

  /**
   * NbKey:public-key:
   *
   * The public key in base64, as `wg pubkey` prints it.
   */
  properties[PROP_PUBLIC_KEY] =
    g_param_spec_string ("public-key", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  nb_sodium_ensure_init ();
}

static void
nb_key_init (NbKey *self)
{
}

static void
set_public (NbKey        *self,
            const guint8  public_key[NB_KEY_LEN])
{
  memcpy (self->public_key, public_key, NB_KEY_LEN);
  sodium_bin2base64 (self->public_base64, sizeof self->public_base64,
                     self->public_key, NB_KEY_LEN,
                     sodium_base64_VARIANT_ORIGINAL);
}

/* Takes the private scalar as given (wg keeps unclamped input as it is and
 * clamps only inside the scalar multiplication, as libsodium does). */
static NbKey *
key_from_private (const guint8 private_key[NB_KEY_LEN])
{
  NbKey *self = g_object_new (NB_TYPE_KEY, NULL);
  guint8 public_key[NB_KEY_LEN];

  memcpy (self->private_key, private_key, NB_KEY_LEN);
  self->has_private = TRUE;
  crypto_scalarmult_curve25519_base (public_key, self->private_key);
  set_public (self, public_key);

  return self;
}

static gboolean
decode_base64 (const char  *text,
               guint8       out[NB_KEY_LEN],
               const char  *what,
               GError     **error)
{
  char canonical[NB_KEY_BASE64_LEN + 1];
  size_t decoded = 0;
  size_t text_len;

  if (text == NULL)
    {
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_BASE64,
                   "No %s key was given", what);
      return FALSE;
    }

  /* Only the canonical encoding is a key: libsodium's decoder maps some
   * bytes outside the alphabet onto it, and the last character has two bits
   * that do not belong to the key. Decoding, encoding again and comparing
   * refuses both, so that one key has exactly one text. */
  text_len = strlen (text);
  if (text_len != NB_KEY_BASE64_LEN ||
      sodium_base642bin (out, NB_KEY_LEN, text, text_len, NULL, &decoded, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
      decoded != NB_KEY_LEN ||
      (sodium_bin2base64 (canonical, sizeof canonical, out, NB_KEY_LEN,
                          sodium_base64_VARIANT_ORIGINAL),
       sodium_memcmp (canonical, text, NB_KEY_BASE64_LEN) != 0))
    {
      sodium_memzero (out, NB_KEY_LEN);
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_BASE64,
                   "A %s key must be 44 characters of base64 encoding 32 bytes, "
                   "as `wg genkey` prints it (got %zu characters%s)",
                   what, text_len,
                   text_len == NB_KEY_BASE64_LEN ? " that are not valid base64" : "");
      return FALSE;
    }

  return TRUE;
}

gboolean
nb_key_base64_is_valid (const char *text)
{
  guint8 out[NB_KEY_LEN];
  gboolean valid;

  nb_sodium_ensure_init ();
  valid = decode_base64 (text, out, "public", NULL);
  sodium_memzero (out, sizeof out);
  return valid;
}

/**
 * nb_key_generate:
 *
 * Generates a new key pair from the system's random source, clamped as
 * Curve25519 requires, exactly as `wg genkey` does.
 *
 * Returns: (transfer full): a new key with its private half
 */
NbKey *
nb_key_generate (void)
{
  guint8 private_key[NB_KEY_LEN];
  NbKey *self;

  nb_sodium_ensure_init ();

  randombytes_buf (private_key, sizeof private_key);
  /* Curve25519 clamping (RFC 7748 §5), as wg genkey stores it. */
  private_key[0] &= 248;
  private_key[31] = (private_key[31] & 127) | 64;

  self = key_from_private (private_key);
  sodium_memzero (private_key, sizeof private_key);

  return self;
}

/**
 * nb_key_new_from_base64:
 * @private_base64: a private key in base64, as `wg genkey` prints it
 * @error: return location for a #GError
 *
 * Loads a private key and derives its public key.
 *
 * Returns: (transfer full): the key, or %NULL with @error set to
 *   %NB_KEY_ERROR_INVALID_BASE64
 */
NbKey *
nb_key_new_from_base64 (const char  *private_base64,
                        GError     **error)
{
  guint8 private_key[NB_KEY_LEN];
  NbKey *self;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  if (!decode_base64 (private_base64, private_key, "private", error))
    return NULL;

  self = key_from_private (private_key);
  sodium_memzero (private_key, sizeof private_key);

  return self;
}

/**
 * nb_key_new_public_from_base64:
 * @public_base64: a public key in base64, as `wg pubkey` prints it
 * @error: return location for a #GError
 *
 * Loads a public key, such as a remote peer's.
 *
 * Returns: (transfer full): a key without a private half, or %NULL with
 *   @error set to %NB_KEY_ERROR_INVALID_BASE64
 */
NbKey *
nb_key_new_public_from_base64 (const char  *public_base64,
                               GError     **error)
{
  guint8 public_key[NB_KEY_LEN];
  NbKey *self;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  if (!decode_base64 (public_base64, public_key, "public", error))
    return NULL;

  self = g_object_new (NB_TYPE_KEY, NULL);
  set_public (self, public_key);

  return self;
}

/**
 * nb_key_new_from_data:
 * @private_key: (array length=length): the 32 bytes of a private key
 * @length: the length of @private_key, which must be %NB_KEY_LEN
 * @error: return location for a #GError
 *
 * Loads a private key from raw bytes and derives its public key.
 *
 * Returns: (transfer full): the key, or %NULL with @error set to
 *   %NB_KEY_ERROR_INVALID_LENGTH
 */
NbKey *
nb_key_new_from_data (const guint8  *private_key,
                      gsize          length,
                      GError       **error)
{
  g_return_val_if_fail (private_key != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  if (length != NB_KEY_LEN)
    {
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_LENGTH,
                   "A private key is 32 bytes long, not %" G_GSIZE_FORMAT, length);
      return NULL;
    }

  return key_from_private (private_key);
}

/**
 * nb_key_new_public_from_data:
 * @public_key: (array length=length): the 32 bytes of a public key
 * @length: the length of @public_key, which must be %NB_KEY_LEN
 * @error: return location for a #GError
 *
 * Loads a public key from raw bytes.
 *
 * Returns: (transfer full): a key without a private half, or %NULL with
 *   @error set to %NB_KEY_ERROR_INVALID_LENGTH
 */
NbKey *
nb_key_new_public_from_data (const guint8  *public_key,
                             gsize          length,
                             GError       **error)
{
  NbKey *self;

  g_return_val_if_fail (public_key != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  if (length != NB_KEY_LEN)
    {
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_LENGTH,
                   "A public key is 32 bytes long, not %" G_GSIZE_FORMAT, length);
      return NULL;
    }

  self = g_object_new (NB_TYPE_KEY, NULL);
  set_public (self, public_key);

  return self;
}

/**
 * nb_key_new_from_file:
 * @path: (type filename): a file holding a private key in base64
 * @error: return location for a #GError
 *
 * Loads a private key from a file such as one that `wg genkey > FILE` or
 * nb_key_save_to_file() wrote. Trailing white space is ignored. A file that
 * users other than its owner can read is refused with
 * %NB_KEY_ERROR_INSECURE_FILE: the key in it must be taken as leaked.
 *
 * Returns: (transfer full): the key, or %NULL with @error set
 */
NbKey *
nb_key_new_from_file (const char  *path,
                      GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  struct stat st;
  NbKey *self;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (stat (path, &st) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot read key file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INSECURE_FILE,
                   "Key file %s has mode %04o: a private key must be readable by "
                   "its owner only (chmod 600 %s)",
                   path, (unsigned) (st.st_mode & 07777), path);
      return NULL;
    }

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;

  /* The file may end in a newline, as `wg genkey > FILE` writes it. */
  while (length > 0 && g_ascii_isspace (contents[length - 1]))
    contents[--length] = '\0';

  self = nb_key_new_from_base64 (contents, error);
  sodium_memzero (contents, length);
  if (self == NULL)
    g_prefix_error (error, "%s: ", path);

  return self;
}

/**
 * nb_key_save_to_file:
 * @self: a key with its private half
 * @path: (type filename): where to write the key
 * @error: return location for a #GError
 *
 * Writes the private key in base64 followed by a newline, as `wg genkey`
 * prints it, to a file readable and writable by its owner only (mode 0600).
 * The file is replaced atomically: a crash leaves the old or the new key,
 * never a torn one.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_key_save_to_file (NbKey       *self,
                     const char  *path,
                     GError     **error)
{
  char text[NB_KEY_BASE64_LEN + 2];
  gboolean ok;

  g_return_val_if_fail (NB_IS_KEY (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!self->has_private)
    {
      g_set_error (error, NB_KEY_ERROR, NB_KEY_ERROR_NO_PRIVATE_KEY,
                   "Cannot save a key without its private half to %s", path);
      return FALSE;
    }

  sodium_bin2base64 (text, sizeof text, self->private_key, NB_KEY_LEN,
                     sodium_base64_VARIANT_ORIGINAL);
  text[NB_KEY_BASE64_LEN] = '\n';
  text[NB_KEY_BASE64_LEN + 1] = '\0';

  ok = g_file_set_contents_full (path, text, NB_KEY_BASE64_LEN + 1,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  sodium_memzero (text, sizeof text);

  return ok;
}

/**
 * nb_key_has_private:
 * @self: a key
 *
 * Whether @self holds a private key, or only a public one.
 *
 * Returns: %TRUE if the private half is present
 */
gboolean
nb_key_has_private (NbKey *self)
{
  g_return_val_if_fail (NB_IS_KEY (self), FALSE);

  return self->has_private;
}

/**
 * nb_key_dup_private_base64:
 * @self: a key with its private half
 * @error: return location for a #GError
 *
 * The private key in base64, as `wg genkey` prints it. The caller should
 * wipe the string when done with it; prefer nb_key_save_to_file() over
 * handling the text.
 *
 * Returns: (transfer full): the private key in base64, or %NULL with @error
 *   set to %NB_KEY_ERROR_NO_PRIVATE_KEY
 */
char *
nb_key_dup_private_base64 (NbKey   *self,
                           GError **error)
{
  char *text;

  g_return_val_if_fail (NB_IS_KEY (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!self->has_private)
    {
      g_set_error_literal (error, NB_KEY_ERROR, NB_KEY_ERROR_NO_PRIVATE_KEY,
                           "This key holds only a public key");
      return NULL;
    }

  text = g_malloc (NB_KEY_BASE64_LEN + 1);
  sodium_bin2base64 (text, NB_KEY_BASE64_LEN + 1, self->private_key, NB_KEY_LEN,
                     sodium_base64_VARIANT_ORIGINAL);
  return text;
}

/**
 * nb_key_get_public_base64:
 * @self: a key
 *
 * The public key in base64, as `wg pubkey` prints it.
 *
 * Returns: (transfer none): the public key, valid as long as @self
 */
const char *
nb_key_get_public_base64 (NbKey *self)
{
  g_return_val_if_fail (NB_IS_KEY (self), NULL);

  return self->public_base64;
}

/**
 * nb_key_get_public_data:
 * @self: a key
 * @length: (out) (optional): the length of the returned array, %NB_KEY_LEN
 *
 * The raw public key.
 *
 * Returns: (transfer none) (array length=length): the 32 bytes of the public
 *   key, valid as long as @self
 */
const guint8 *
nb_key_get_public_data (NbKey *self,
                        gsize *length)
{
  g_return_val_if_fail (NB_IS_KEY (self), NULL);

  if (length != NULL)
    *length = NB_KEY_LEN;
  return self->public_key;
}

/**
 * nb_key_dup_public:
 * @self: a key
 *
 * A copy of the public half alone, safe to hand to code that must not see the
 * private key.
 *
 * Returns: (transfer full): a new key without a private half
 */
NbKey *
nb_key_dup_public (NbKey *self)
{
  NbKey *copy;

  g_return_val_if_fail (NB_IS_KEY (self), NULL);

  copy = g_object_new (NB_TYPE_KEY, NULL);
  set_public (copy, self->public_key);
  return copy;
}

/**
 * nb_key_equal:
 * @a: a key
 * @b: another key
 *
 * Whether two keys name the same peer, that is, have the same public key.
 * The comparison takes the same time whatever the keys hold.
 *
 * Returns: %TRUE if the public keys are equal
 */
gboolean
nb_key_equal (NbKey *a,
              NbKey *b)
{
  g_return_val_if_fail (NB_IS_KEY (a), FALSE);
  g_return_val_if_fail (NB_IS_KEY (b), FALSE);

  return sodium_memcmp (a->public_key, b->public_key, NB_KEY_LEN) == 0;
}

/**
 * nb_key_hash:
 * @self: a key
 *
 * A hash of the public key, for #GHashTable with nb_key_equal().
 *
 * Returns: the hash value
 */
guint
nb_key_hash (NbKey *self)
{
  guint hash;

  g_return_val_if_fail (NB_IS_KEY (self), 0);

  /* Public keys are uniformly distributed: their first bytes hash well. */
  memcpy (&hash, self->public_key, sizeof hash);
  return hash;
}

const guint8 *
nb_key_get_private_data (NbKey *self)
{
  g_return_val_if_fail (NB_IS_KEY (self), NULL);

  return self->has_private ? self->private_key : NULL;
}
