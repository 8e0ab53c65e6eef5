/* nb-service-stream.c: the counting stream under every accepted connection
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include "nb-service-private.h"

/* libsoup reads and writes an accepted connection through this stream, and
 * through it only (after TLS when there is TLS). It counts both directions,
 * which makes a WebSocket's backlog observable (bytes handed to libsoup
 * minus bytes written), and it can hold reads back: past the read budget it
 * reports "would block" and tells its owner, who answers the request and
 * closes, so a peer that announces or sends too much is never read on.
 *
 * Both halves are pollable, as libsoup requires: polling goes to the base
 * stream except while reads are held, when the input never becomes
 * readable. */

typedef struct _NbServiceInputStream NbServiceInputStream;
typedef struct _NbServiceOutputStream NbServiceOutputStream;

struct _NbServiceStream
{
  GIOStream parent_instance;

  GIOStream *base;
  GInputStream *input;
  GOutputStream *output;
  guint64 bytes_read;
  guint64 bytes_written;
  guint64 read_budget;
  gboolean held;
  guint over_budget_source;

  NbServiceStreamFunc over_budget;
  NbServiceStreamFunc wrote;
  NbServiceStreamFunc closed;
  gpointer user_data;
};

G_DEFINE_FINAL_TYPE (NbServiceStream, nb_service_stream, G_TYPE_IO_STREAM)

/* "base-iostream", as libsoup's SoupIOStream names it: code that walks down
 * to the socket (to size its buffers) finds its way through. */
enum {
  PROP_0,
  PROP_BASE_IOSTREAM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Polling a plain connection ------------------------------------------------
 *
 * A pollable source over a wrapped stream is usually the wrapper's
 * GPollableSource with the base stream's source as its child: two sources
 * per poll, and libsoup keeps one polled for every open connection. GLib's
 * main loop prepares and checks every attached source on each iteration,
 * so with 10,000 sync channels the second source cost as much again in
 * every iteration of the daemon. On a plain connection the base is a
 * socket: one source polls its descriptor and calls the wrapper's callback
 * with the wrapper, as GPollableSource would. (Under TLS the base's source
 * knows what the TLS layer buffered: there the child stays.) */

typedef struct
{
  GSource source;
  GObject *stream;
} SocketSource;

static gboolean
socket_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  SocketSource *self = (SocketSource *) source;

  /* A source others take as a child (libsoup's own wrappers do) has the
   * dummy callback, a closure: see closure_callback below. */
  if (callback == NULL)
    return G_SOURCE_CONTINUE;
  return ((GPollableSourceFunc) (void (*) (void)) callback) (self->stream, user_data);
}

static gboolean
socket_source_closure_callback (GObject  *stream,
                                gpointer  data)
{
  GClosure *closure = data;
  GValue param = G_VALUE_INIT;
  GValue result = G_VALUE_INIT;
  gboolean ret;

  g_value_init (&result, G_TYPE_BOOLEAN);
  g_value_init (&param, G_TYPE_OBJECT);
  g_value_set_object (&param, stream);
  g_closure_invoke (closure, &result, 1, &param, NULL);
  ret = g_value_get_boolean (&result);
  g_value_unset (&param);
  g_value_unset (&result);
  return ret;
}

static void
socket_source_finalize (GSource *source)
{
  g_object_unref (((SocketSource *) source)->stream);
}

static GSourceFuncs socket_source_funcs = {
  .dispatch = socket_source_dispatch,
  .finalize = socket_source_finalize,
  .closure_callback = (GSourceFunc) (void (*) (void)) socket_source_closure_callback,
  .closure_marshal = (GSourceDummyMarshal) (void (*) (void)) g_cclosure_marshal_generic,
};

/* A source for @stream (a half of @owner) when @owner's base is a plain
 * socket connection, else %NULL. Ready when the descriptor is (or the
 * cancellable is cancelled), as g_pollable_source_new_full() would be. */
static GSource *
socket_source_new (NbServiceStream *owner,
                   GObject         *stream,
                   GIOCondition     condition,
                   GCancellable    *cancellable)
{
  GSocket *socket;
  GSource *source;

  if (!G_IS_SOCKET_CONNECTION (owner->base))
    return NULL;
  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (owner->base));
  source = g_source_new (&socket_source_funcs, sizeof (SocketSource));
  g_source_set_static_name (source, "[netbird] service stream");
  ((SocketSource *) source)->stream = g_object_ref (stream);
  g_source_add_unix_fd (source, g_socket_get_fd (socket), condition | G_IO_HUP | G_IO_ERR);
  if (cancellable != NULL)
    {
      g_autoptr(GSource) cancelled = g_cancellable_source_new (cancellable);

      g_source_set_dummy_callback (cancelled);
      g_source_add_child_source (source, cancelled);
    }
  return source;
}

/* The input half ----------------------------------------------------------- */

#define NB_TYPE_SERVICE_INPUT_STREAM (nb_service_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (NbServiceInputStream, nb_service_input_stream, NB, SERVICE_INPUT_STREAM,
                      GInputStream)

struct _NbServiceInputStream
{
  GInputStream parent_instance;
  NbServiceStream *owner; /* not a reference: the owner holds us */
  GInputStream *base;
};

static void nb_service_input_stream_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NbServiceInputStream, nb_service_input_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      nb_service_input_stream_pollable_init))

static gboolean
on_over_budget (gpointer user_data)
{
  NbServiceStream *self = user_data;

  self->over_budget_source = 0;
  if (self->over_budget != NULL)
    self->over_budget (self, self->user_data);
  return G_SOURCE_REMOVE;
}

/* How much the next read may take, 0 when reads are held. */
static gsize
read_allowance (NbServiceStream *self,
                gsize            count)
{
  if (self->held)
    return 0;
  if (self->read_budget == 0)
    {
      self->held = TRUE;
      if (self->over_budget_source == 0)
        self->over_budget_source = g_idle_add_full (G_PRIORITY_HIGH, on_over_budget,
                                                    g_object_ref (self), g_object_unref);
      return 0;
    }
  return (gsize) MIN ((guint64) count, self->read_budget);
}

static void
count_read (NbServiceStream *self,
            gssize           n)
{
  if (n <= 0)
    return;
  self->bytes_read += (guint64) n;
  if (self->read_budget != G_MAXUINT64)
    self->read_budget -= (guint64) n;
}

static gssize
nb_service_input_stream_read (GInputStream  *stream,
                              void          *buffer,
                              gsize          count,
                              GCancellable  *cancellable,
                              GError       **error)
{
  NbServiceInputStream *self = NB_SERVICE_INPUT_STREAM (stream);
  gsize allowed = read_allowance (self->owner, count);
  gssize n;

  if (allowed == 0 && count > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                           "reads are held on this connection");
      return -1;
    }
  n = g_input_stream_read (self->base, buffer, allowed, cancellable, error);
  count_read (self->owner, n);
  return n;
}

static gssize
nb_service_input_stream_read_nonblocking (GPollableInputStream  *stream,
                                          void                  *buffer,
                                          gsize                  count,
                                          GError               **error)
{
  NbServiceInputStream *self = NB_SERVICE_INPUT_STREAM (stream);
  gsize allowed = read_allowance (self->owner, count);
  gssize n;

  if (allowed == 0 && count > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                           "reads are held on this connection");
      return -1;
    }
  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base), buffer,
                                                allowed, NULL, error);
  count_read (self->owner, n);
  return n;
}

static gboolean
nb_service_input_stream_close (GInputStream  *stream,
                               GCancellable  *cancellable,
                               GError       **error)
{
  /* The base closes with the whole stream. */
  return TRUE;
}

static gboolean
nb_service_input_stream_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
nb_service_input_stream_is_readable (GPollableInputStream *stream)
{
  NbServiceInputStream *self = NB_SERVICE_INPUT_STREAM (stream);

  if (self->owner->held)
    return FALSE;
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
nb_service_input_stream_create_source (GPollableInputStream *stream,
                                       GCancellable         *cancellable)
{
  NbServiceInputStream *self = NB_SERVICE_INPUT_STREAM (stream);
  g_autoptr(GSource) base_source = NULL;

  /* Held: a source that only the cancellable (if any) ends. */
  GSource *source;

  if (self->owner->held)
    return g_pollable_source_new_full (stream, NULL, cancellable);
  source = socket_source_new (self->owner, G_OBJECT (stream), G_IO_IN, cancellable);
  if (source != NULL)
    return source;
  base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base),
                                                       NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static void
nb_service_input_stream_finalize (GObject *object)
{
  NbServiceInputStream *self = NB_SERVICE_INPUT_STREAM (object);

  g_clear_object (&self->base);
  G_OBJECT_CLASS (nb_service_input_stream_parent_class)->finalize (object);
}

static void
nb_service_input_stream_class_init (NbServiceInputStreamClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = nb_service_input_stream_finalize;
  input_class->read_fn = nb_service_input_stream_read;
  input_class->close_fn = nb_service_input_stream_close;
}

static void
nb_service_input_stream_init (NbServiceInputStream *self)
{
}

static void
nb_service_input_stream_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = nb_service_input_stream_can_poll;
  iface->is_readable = nb_service_input_stream_is_readable;
  iface->create_source = nb_service_input_stream_create_source;
  iface->read_nonblocking = nb_service_input_stream_read_nonblocking;
}

/* The output half ---------------------------------------------------------- */

#define NB_TYPE_SERVICE_OUTPUT_STREAM (nb_service_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (NbServiceOutputStream, nb_service_output_stream, NB, SERVICE_OUTPUT_STREAM,
                      GOutputStream)

struct _NbServiceOutputStream
{
  GOutputStream parent_instance;
  NbServiceStream *owner;
  GOutputStream *base;
};

static void nb_service_output_stream_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NbServiceOutputStream, nb_service_output_stream,
                               G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      nb_service_output_stream_pollable_init))

static void
count_written (NbServiceStream *self,
               gssize           n)
{
  if (n <= 0)
    return;
  self->bytes_written += (guint64) n;
  if (self->wrote != NULL)
    self->wrote (self, self->user_data);
}

static gssize
nb_service_output_stream_write (GOutputStream  *stream,
                                const void     *buffer,
                                gsize           count,
                                GCancellable   *cancellable,
                                GError        **error)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (stream);
  gssize n = g_output_stream_write (self->base, buffer, count, cancellable, error);

  count_written (self->owner, n);
  return n;
}

static gboolean
nb_service_output_stream_flush (GOutputStream  *stream,
                                GCancellable   *cancellable,
                                GError        **error)
{
  return g_output_stream_flush (NB_SERVICE_OUTPUT_STREAM (stream)->base, cancellable, error);
}

static gboolean
nb_service_output_stream_close (GOutputStream  *stream,
                                GCancellable   *cancellable,
                                GError        **error)
{
  return TRUE;
}

static gboolean
nb_service_output_stream_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
nb_service_output_stream_is_writable (GPollableOutputStream *stream)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (stream);

  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (self->base));
}

static GSource *
nb_service_output_stream_create_source (GPollableOutputStream *stream,
                                        GCancellable          *cancellable)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (stream);
  g_autoptr(GSource) base_source = NULL;
  GSource *source = socket_source_new (self->owner, G_OBJECT (stream), G_IO_OUT, cancellable);

  if (source != NULL)
    return source;
  base_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                        NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
nb_service_output_stream_write_nonblocking (GPollableOutputStream  *stream,
                                            const void             *buffer,
                                            gsize                   count,
                                            GError                **error)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (stream);
  gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                         buffer, count, NULL, error);

  count_written (self->owner, n);
  return n;
}

static GPollableReturn
nb_service_output_stream_writev_nonblocking (GPollableOutputStream  *stream,
                                             const GOutputVector    *vectors,
                                             gsize                   n_vectors,
                                             gsize                  *bytes_written,
                                             GError                **error)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (stream);
  gsize written = 0;
  GPollableReturn ret;

  ret = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                     vectors, n_vectors, &written, NULL, error);
  if (bytes_written != NULL)
    *bytes_written = written;
  count_written (self->owner, (gssize) written);
  return ret;
}

static void
nb_service_output_stream_finalize (GObject *object)
{
  NbServiceOutputStream *self = NB_SERVICE_OUTPUT_STREAM (object);

  g_clear_object (&self->base);
  G_OBJECT_CLASS (nb_service_output_stream_parent_class)->finalize (object);
}

static void
nb_service_output_stream_class_init (NbServiceOutputStreamClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = nb_service_output_stream_finalize;
  output_class->write_fn = nb_service_output_stream_write;
  output_class->flush = nb_service_output_stream_flush;
  output_class->close_fn = nb_service_output_stream_close;
}

static void
nb_service_output_stream_init (NbServiceOutputStream *self)
{
}

static void
nb_service_output_stream_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = nb_service_output_stream_can_poll;
  iface->is_writable = nb_service_output_stream_is_writable;
  iface->create_source = nb_service_output_stream_create_source;
  iface->write_nonblocking = nb_service_output_stream_write_nonblocking;
  iface->writev_nonblocking = nb_service_output_stream_writev_nonblocking;
}

/* The stream --------------------------------------------------------------- */

static void
notify_closed (NbServiceStream *self)
{
  NbServiceStreamFunc closed = self->closed;

  self->closed = NULL;
  self->over_budget = NULL;
  self->wrote = NULL;
  if (closed != NULL)
    closed (self, self->user_data);
}

static GInputStream *
nb_service_stream_get_input_stream (GIOStream *stream)
{
  return NB_SERVICE_STREAM (stream)->input;
}

static GOutputStream *
nb_service_stream_get_output_stream (GIOStream *stream)
{
  return NB_SERVICE_STREAM (stream)->output;
}

static gboolean
nb_service_stream_close (GIOStream     *stream,
                         GCancellable  *cancellable,
                         GError       **error)
{
  NbServiceStream *self = NB_SERVICE_STREAM (stream);
  gboolean ok = g_io_stream_close (self->base, cancellable, error);

  notify_closed (self);
  return ok;
}

/* GIOStream's default runs close_fn on a worker thread; the callbacks must
 * run on the service's thread, and closing a socket does not block. */
static void
nb_service_stream_close_async (GIOStream           *stream,
                               int                  io_priority,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;

  g_task_set_source_tag (task, nb_service_stream_close_async);
  if (nb_service_stream_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
nb_service_stream_close_finish (GIOStream     *stream,
                                GAsyncResult  *result,
                                GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
nb_service_stream_dispose (GObject *object)
{
  NbServiceStream *self = NB_SERVICE_STREAM (object);

  g_clear_handle_id (&self->over_budget_source, g_source_remove);
  notify_closed (self);
  G_OBJECT_CLASS (nb_service_stream_parent_class)->dispose (object);
}

static void
nb_service_stream_finalize (GObject *object)
{
  NbServiceStream *self = NB_SERVICE_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (nb_service_stream_parent_class)->finalize (object);
}

static void
nb_service_stream_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  NbServiceStream *self = NB_SERVICE_STREAM (object);

  switch (prop_id)
    {
    case PROP_BASE_IOSTREAM:
      g_value_set_object (value, self->base);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_service_stream_class_init (NbServiceStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->get_property = nb_service_stream_get_property;
  properties[PROP_BASE_IOSTREAM] =
    g_param_spec_object ("base-iostream", NULL, NULL, G_TYPE_IO_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  object_class->dispose = nb_service_stream_dispose;
  object_class->finalize = nb_service_stream_finalize;
  stream_class->get_input_stream = nb_service_stream_get_input_stream;
  stream_class->get_output_stream = nb_service_stream_get_output_stream;
  stream_class->close_fn = nb_service_stream_close;
  stream_class->close_async = nb_service_stream_close_async;
  stream_class->close_finish = nb_service_stream_close_finish;
}

static void
nb_service_stream_init (NbServiceStream *self)
{
  self->read_budget = G_MAXUINT64;
}

NbServiceStream *
nb_service_stream_new (GIOStream *base)
{
  NbServiceStream *self = g_object_new (NB_TYPE_SERVICE_STREAM, NULL);
  NbServiceInputStream *input = g_object_new (NB_TYPE_SERVICE_INPUT_STREAM, NULL);
  NbServiceOutputStream *output = g_object_new (NB_TYPE_SERVICE_OUTPUT_STREAM, NULL);

  self->base = g_object_ref (base);
  input->owner = self;
  input->base = g_object_ref (g_io_stream_get_input_stream (base));
  output->owner = self;
  output->base = g_object_ref (g_io_stream_get_output_stream (base));
  self->input = G_INPUT_STREAM (input);
  self->output = G_OUTPUT_STREAM (output);
  return self;
}

GIOStream *
nb_service_stream_get_base (NbServiceStream *self)
{
  return self->base;
}

guint64
nb_service_stream_get_bytes_read (NbServiceStream *self)
{
  return self->bytes_read;
}

guint64
nb_service_stream_get_bytes_written (NbServiceStream *self)
{
  return self->bytes_written;
}

/* @budget bytes may be read from now on (G_MAXUINT64: no limit); reads
 * held past an earlier budget stay held. */
void
nb_service_stream_set_read_budget (NbServiceStream *self,
                                   guint64          budget)
{
  self->read_budget = budget;
}

void
nb_service_stream_set_callbacks (NbServiceStream     *self,
                                 NbServiceStreamFunc  over_budget,
                                 NbServiceStreamFunc  wrote,
                                 NbServiceStreamFunc  closed,
                                 gpointer             user_data)
{
  self->over_budget = over_budget;
  self->wrote = wrote;
  self->closed = closed;
  self->user_data = user_data;
}

gpointer
nb_service_stream_get_user_data (NbServiceStream *self)
{
  return self->user_data;
}

/* Our stream under what libsoup hands out (its SoupIOStream wrappers). */
NbServiceStream *
nb_service_stream_find (GIOStream *stream)
{
  while (stream != NULL && !NB_IS_SERVICE_STREAM (stream))
    {
      GIOStream *base = NULL;

      if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-iostream") == NULL)
        return NULL;
      g_object_get (stream, "base-iostream", &base, NULL);
      if (base != NULL)
        g_object_unref (base); /* still owned by @stream */
      stream = base;
    }
  return stream != NULL ? NB_SERVICE_STREAM (stream) : NULL;
}
