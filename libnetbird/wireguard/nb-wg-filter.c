/* nb-wg-filter.c: the packet filter's place on an NbWgDevice
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The filter itself is netif's (nb-filter-private.h). Here: creating it
 * when first configured, and swapping rule sets. A swap is a pointer store
 * under the device's configuration write lock: that lock waits for the
 * batch each packet thread is in (each holds its own share of it for one
 * batch) and for the other readers of the packet path (channel transports,
 * injected packets), so once it is taken no packet can still be looking at
 * the old set, and the old set is freed as soon as the lock is released.
 * The writer holds it for the store alone: the compile is done before.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include "nb-wg-internal.h"

/* Called with the write lock held. */
static NbFilter *
ensure_filter (NbWgDevice *self)
{
  if (self->filter == NULL)
    self->filter = nb_filter_new (0);
  return self->filter;
}

void
nb_wg_device_set_filter_rule_set (NbWgDevice      *self,
                                  NbFilterRuleSet *rules)
{
  NbFilterRuleSet *old;
  gsize n = rules != NULL ? nb_filter_rule_set_get_n_rules (rules) : 0;

  g_return_if_fail (NB_IS_WG_DEVICE (self));
  if (rules == NULL && self->filter == NULL)
    return;
  nb_wg_device_config_write_lock (self);
  old = nb_filter_swap_rules (ensure_filter (self), rules);
  nb_wg_device_config_write_unlock (self);
  nb_filter_rule_set_free (old);
  if (rules != NULL)
    g_debug ("Packet filter: %" G_GSIZE_FORMAT " rules in force", n);
  else
    g_debug ("Packet filter: no rules, everything passes");
}

gboolean
nb_wg_device_set_filter_rules (NbWgDevice         *self,
                               const NbFilterRule *rules,
                               gsize               n,
                               GError            **error)
{
  NbFilterRuleSet *set;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  set = nb_filter_rule_set_compile (rules, n, error);
  if (set == NULL)
    return FALSE;
  nb_wg_device_set_filter_rule_set (self, set);
  return TRUE;
}

void
nb_wg_device_set_filter_mode (NbWgDevice  *self,
                              NbFilterMode mode)
{
  g_return_if_fail (NB_IS_WG_DEVICE (self));
  nb_wg_device_config_write_lock (self);
  nb_filter_set_mode (ensure_filter (self), mode);
  nb_wg_device_config_write_unlock (self);
  g_debug ("Packet filter mode: %s", nb_filter_mode_to_string (mode));
}

NbFilter *
nb_wg_device_get_filter (NbWgDevice *self)
{
  NbFilter *filter;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  g_rw_lock_reader_lock (&self->config_lock);
  filter = self->filter;
  g_rw_lock_reader_unlock (&self->config_lock);
  return filter;
}
