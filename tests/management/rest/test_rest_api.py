"""The management REST API over real HTTP (suite management-rest).

One server for the module (a real store in a temp dir, see rest_server.py);
each test checks one behaviour and creates what it changes, so the tests do
not depend on each other's order.
"""
import json
import os
import sys
import unittest
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rest_server import RestServer  # noqa: E402

SERVER = None


def setUpModule():
    global SERVER
    SERVER = RestServer()


def tearDownModule():
    SERVER.stop()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


class Api:
    """requests with a base URL and a token."""

    def __init__(self, token, url=None):
        self.url = url or SERVER.url
        self.headers = {"Accept": "application/json"}
        if token is not None:
            self.headers["Authorization"] = "Token " + token

    def call(self, method, path, body=None, raw=None, headers=None):
        h = dict(self.headers)
        if headers:
            h.update(headers)
        data = raw
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        return requests.request(method, self.url + path, headers=h, data=data, timeout=30)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def owner():
    return Api(SERVER.info["owner_token"])


def admin():
    return Api(SERVER.info["admin_token"])


def user():
    return Api(SERVER.info["user_token"])


def other():
    return Api(SERVER.info["other_token"])


class RestCase(unittest.TestCase):
    def assertStatus(self, response, status):
        self.assertEqual(response.status_code, status,
                         "%s %s -> %d %s" % (response.request.method, response.request.url,
                                             response.status_code, response.text[:500]))

    def assertError(self, response, status):
        self.assertStatus(response, status)
        body = response.json()
        self.assertEqual(body["code"], status)
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"])
        return body["message"]

    def ok(self, response):
        self.assertStatus(response, 200)
        return response.json()

    def make_group(self, name=None, peers=None):
        return self.ok(owner().post("/api/groups", {"name": name or unique("group"),
                                                    "peers": peers or []}))

    def make_policy(self, group_id, name=None):
        return self.ok(owner().post("/api/policies", {
            "name": name or unique("policy"), "enabled": True,
            "rules": [{"name": "r", "enabled": True, "action": "accept", "bidirectional": True,
                       "protocol": "all", "sources": [group_id], "destinations": [group_id]}]}))


# ---------------------------------------------------------------------------
class AuthTest(RestCase):
    def test_no_token_is_401(self):
        self.assertError(Api(None).get("/api/peers"), 401)

    def test_unknown_token_is_401(self):
        self.assertError(Api("nbp_" + "a" * 36).get("/api/peers"), 401)

    def test_garbage_token_is_401(self):
        self.assertError(Api("not a token at all ' OR 1=1 --").get("/api/peers"), 401)

    def test_bearer_without_idp_is_401(self):
        r = Api(None).get("/api/peers", headers={"Authorization": "Bearer abc.def.ghi"})
        self.assertError(r, 401)

    def test_unknown_scheme_is_401(self):
        r = Api(None).get("/api/peers", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertError(r, 401)

    def test_expired_token_is_401(self):
        self.assertError(Api(SERVER.info["expired_token"]).get("/api/peers"), 401)

    def test_blocked_user_is_refused(self):
        self.assertError(Api(SERVER.info["blocked_token"]).get("/api/groups"), 401)

    def test_deleted_token_stops_working(self):
        uid = SERVER.info["owner_id"]
        created = self.ok(owner().post("/api/users/%s/tokens" % uid,
                                       {"name": "short lived", "expires_in": 1}))
        token = created["plain_token"]
        self.ok(Api(token).get("/api/groups"))
        self.ok(owner().delete("/api/users/%s/tokens/%s" %
                               (uid, created["personal_access_token"]["id"])))
        self.assertError(Api(token).get("/api/groups"), 401)

    def test_unknown_path_is_404(self):
        self.assertError(owner().get("/api/no-such-thing"), 404)

    def test_unknown_method_is_405(self):
        self.assertError(owner().call("PATCH", "/api/groups"), 405)


# ---------------------------------------------------------------------------
class AccountsTest(RestCase):
    def test_list_gives_own_account(self):
        accounts = self.ok(owner().get("/api/accounts"))
        self.assertEqual([a["id"] for a in accounts], [SERVER.info["account_id"]])
        settings = accounts[0]["settings"]
        for field in ("peer_login_expiration_enabled", "peer_login_expiration",
                      "regular_users_view_blocked", "groups_propagation_enabled",
                      "jwt_groups_enabled", "dns_domain", "network_range"):
            self.assertIn(field, settings)
        self.assertTrue(settings["network_range"].startswith("100."))

    def test_other_account_sees_its_own(self):
        accounts = self.ok(other().get("/api/accounts"))
        self.assertEqual([a["id"] for a in accounts], [SERVER.info["other_account_id"]])

    def test_update_settings(self):
        aid = SERVER.info["account_id"]
        a = self.ok(owner().put("/api/accounts/" + aid, {"settings": {
            "peer_login_expiration_enabled": True, "peer_login_expiration": 7200}}))
        self.assertEqual(a["settings"]["peer_login_expiration"], 7200)
        again = self.ok(owner().get("/api/accounts"))[0]
        self.assertEqual(again["settings"]["peer_login_expiration"], 7200)

    def test_update_expiration_too_short_is_422(self):
        aid = SERVER.info["account_id"]
        self.assertError(owner().put("/api/accounts/" + aid, {"settings": {
            "peer_login_expiration": 10}}), 422)

    def test_update_wrong_type_is_400(self):
        aid = SERVER.info["account_id"]
        self.assertError(owner().put("/api/accounts/" + aid, {"settings": {
            "peer_login_expiration": "forever"}}), 400)

    def test_update_without_settings_is_422(self):
        aid = SERVER.info["account_id"]
        self.assertError(owner().put("/api/accounts/" + aid, {}), 422)

    def test_update_other_account_is_404(self):
        self.assertError(owner().put("/api/accounts/" + SERVER.info["other_account_id"],
                                     {"settings": {"peer_login_expiration": 7200}}), 404)

    def test_user_cannot_update(self):
        aid = SERVER.info["account_id"]
        self.assertError(user().put("/api/accounts/" + aid, {"settings": {}}), 403)

    def test_user_cannot_list(self):
        self.assertError(user().get("/api/accounts"), 403)

    def test_admin_cannot_delete(self):
        self.assertError(admin().delete("/api/accounts/" + SERVER.info["account_id"]), 403)

    def test_delete_other_account_is_404(self):
        self.assertError(owner().delete("/api/accounts/" + SERVER.info["other_account_id"]), 404)


class AccountDeletionTest(RestCase):
    """Its own server: deleting an account ends it."""

    def test_owner_deletes_account(self):
        server = RestServer()
        try:
            api = Api(server.info["owner_token"], server.url)
            r = api.delete("/api/accounts/" + server.info["account_id"])
            self.assertStatus(r, 200)
            self.assertEqual(r.json(), {})
            self.assertError(api.get("/api/peers"), 401)
            # The other account is untouched.
            other_api = Api(server.info["other_token"], server.url)
            peers = self.ok(other_api.get("/api/peers"))
            self.assertEqual([p["id"] for p in peers], [server.info["other_peer_id"]])
        finally:
            server.stop()


# ---------------------------------------------------------------------------
class UsersTest(RestCase):
    def test_list_users_marks_current(self):
        users = self.ok(owner().get("/api/users"))
        current = [u for u in users if u["is_current"]]
        self.assertEqual([u["id"] for u in current], [SERVER.info["owner_id"]])
        self.assertEqual(current[0]["role"], "owner")
        self.assertEqual(current[0]["status"], "active")
        for field in ("id", "email", "name", "role", "auto_groups", "status", "is_blocked",
                      "is_service_user", "issued", "last_login"):
            self.assertIn(field, current[0])

    def test_blocked_user_status(self):
        users = self.ok(owner().get("/api/users"))
        blocked = [u for u in users if u["id"] == SERVER.info["blocked_id"]][0]
        self.assertTrue(blocked["is_blocked"])
        self.assertEqual(blocked["status"], "blocked")

    def test_create_service_user_and_filter(self):
        u = self.ok(owner().post("/api/users", {"name": unique("bot"), "role": "admin",
                                                "auto_groups": [], "is_service_user": True}))
        self.assertTrue(u["is_service_user"])
        self.assertEqual(u["role"], "admin")
        service = self.ok(owner().get("/api/users?service_user=true"))
        self.assertIn(u["id"], [x["id"] for x in service])
        self.assertTrue(all(x["is_service_user"] for x in service))
        regular = self.ok(owner().get("/api/users?service_user=false"))
        self.assertNotIn(u["id"], [x["id"] for x in regular])
        self.assertIn(SERVER.info["owner_id"], [x["id"] for x in regular])

    def test_bad_service_user_filter_is_400(self):
        self.assertError(owner().get("/api/users?service_user=maybe"), 400)

    def test_create_regular_user(self):
        email = unique("someone") + "@example.com"
        u = self.ok(owner().post("/api/users", {"email": email, "name": "Someone",
                                                "role": "user", "auto_groups": [],
                                                "is_service_user": False}))
        self.assertEqual(u["email"], email)
        self.assertEqual(u["role"], "user")
        self.assertFalse(u["is_service_user"])

    def test_email_unique_whatever_its_case(self):
        local = unique("Casey")
        email = local + "@Example.com"
        body = {"name": "Casey", "role": "user", "auto_groups": [], "is_service_user": False}
        first = self.ok(owner().post("/api/users", dict(body, email=email)))
        self.assertEqual(first["email"], email)  # kept as given
        for variant in (email, email.lower(), email.upper(), local.lower() + "@EXAMPLE.COM"):
            with self.subTest(variant=variant):
                message = self.assertError(owner().post("/api/users", dict(body, email=variant)),
                                           409)
                self.assertIn("email", message)
        emails = [u["email"].lower() for u in self.ok(owner().get("/api/users"))]
        self.assertEqual(emails.count(email.lower()), 1)
        # Another account may have the address.
        self.ok(other().post("/api/users", dict(body, email=email.upper())))

    def test_create_user_invalid_role_is_422(self):
        self.assertError(owner().post("/api/users", {"role": "emperor", "auto_groups": [],
                                                     "is_service_user": True}), 422)

    def test_create_user_missing_role_is_422(self):
        self.assertError(owner().post("/api/users", {"auto_groups": [],
                                                     "is_service_user": True}), 422)

    def test_create_second_owner_is_refused(self):
        self.assertError(owner().post("/api/users", {"role": "owner", "auto_groups": [],
                                                     "is_service_user": True, "name": "x"}), 422)

    def test_create_user_without_email_is_422(self):
        self.assertError(owner().post("/api/users", {"role": "user", "auto_groups": [],
                                                     "is_service_user": False}), 422)

    def test_create_user_wrong_type_is_400(self):
        self.assertError(owner().post("/api/users", {"role": "user", "auto_groups": "all",
                                                     "is_service_user": True}), 400)

    def test_update_user_role_and_block(self):
        u = self.ok(owner().post("/api/users", {"name": unique("svc"), "role": "user",
                                                "auto_groups": [], "is_service_user": True}))
        upd = self.ok(owner().put("/api/users/" + u["id"], {"role": "admin", "auto_groups": [],
                                                            "is_blocked": True}))
        self.assertEqual(upd["role"], "admin")
        self.assertTrue(upd["is_blocked"])
        self.assertEqual(upd["status"], "blocked")

    def test_owner_cannot_be_blocked(self):
        self.assertError(admin().put("/api/users/" + SERVER.info["owner_id"],
                                     {"role": "owner", "auto_groups": [], "is_blocked": True}),
                         403)

    def test_delete_user(self):
        u = self.ok(owner().post("/api/users", {"name": unique("tmp"), "role": "user",
                                                "auto_groups": [], "is_service_user": True}))
        r = owner().delete("/api/users/" + u["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertNotIn(u["id"], [x["id"] for x in self.ok(owner().get("/api/users"))])

    def test_delete_unknown_user_is_404(self):
        self.assertError(owner().delete("/api/users/nosuchuser"), 404)

    def test_delete_other_accounts_user_is_404(self):
        others = self.ok(other().get("/api/users"))
        self.assertError(owner().delete("/api/users/" + others[0]["id"]), 404)

    def test_admin_cannot_delete_owner(self):
        self.assertError(admin().delete("/api/users/" + SERVER.info["owner_id"]), 403)
        self.assertIn(SERVER.info["owner_id"], [u["id"] for u in self.ok(owner().get("/api/users"))])

    def test_cannot_delete_self(self):
        self.assertError(admin().delete("/api/users/" + SERVER.info["admin_id"]), 403)

    def test_service_user_with_user_role_is_not_admin(self):
        bot = self.ok(owner().post("/api/users", {"name": unique("ro"), "role": "user",
                                                  "auto_groups": [], "is_service_user": True}))
        token = self.ok(owner().post("/api/users/%s/tokens" % bot["id"],
                                     {"name": "t", "expires_in": 1}))["plain_token"]
        self.assertError(Api(token).post("/api/groups", {"name": unique("g")}), 403)
        self.assertEqual(self.ok(Api(token).get("/api/users/current"))["id"], bot["id"])

    def test_user_sees_only_itself(self):
        users = self.ok(user().get("/api/users"))
        self.assertEqual([u["id"] for u in users], [SERVER.info["user_id"]])

    def test_current_user(self):
        me = self.ok(user().get("/api/users/current"))
        self.assertEqual(me["id"], SERVER.info["user_id"])
        self.assertTrue(me["is_current"])

    def test_user_cannot_create_users(self):
        self.assertError(user().post("/api/users", {"role": "admin", "auto_groups": [],
                                                    "is_service_user": True}), 403)

    def test_user_cannot_update_users(self):
        self.assertError(user().put("/api/users/" + SERVER.info["user_id"],
                                    {"role": "admin", "auto_groups": [], "is_blocked": False}),
                         403)

    def test_user_cannot_delete_users(self):
        self.assertError(user().delete("/api/users/" + SERVER.info["admin_id"]), 403)


class TokensTest(RestCase):
    def test_create_list_get_delete_token(self):
        bot = self.ok(owner().post("/api/users", {"name": unique("bot"), "role": "admin",
                                                  "auto_groups": [], "is_service_user": True}))
        path = "/api/users/%s/tokens" % bot["id"]
        created = self.ok(owner().post(path, {"name": "ci", "expires_in": 30}))
        plain = created["plain_token"]
        self.assertTrue(plain.startswith("nbp_"))
        self.assertEqual(len(plain), 40)
        pat = created["personal_access_token"]
        for field in ("id", "name", "expiration_date", "created_by", "created_at"):
            self.assertIn(field, pat)
        self.assertEqual(pat["created_by"], SERVER.info["owner_id"])
        # The new token works and acts as the service user.
        me = self.ok(Api(plain).get("/api/users/current"))
        self.assertEqual(me["id"], bot["id"])
        listed = self.ok(owner().get(path))
        self.assertEqual([t["id"] for t in listed], [pat["id"]])
        self.assertNotIn(plain, json.dumps(listed))
        one = self.ok(owner().get(path + "/" + pat["id"]))
        self.assertEqual(one["name"], "ci")
        self.assertNotIn("plain_token", one)
        self.assertEqual(owner().delete(path + "/" + pat["id"]).json(), {})
        self.assertError(owner().get(path + "/" + pat["id"]), 404)

    def test_token_expiry_out_of_range_is_422(self):
        path = "/api/users/%s/tokens" % SERVER.info["owner_id"]
        self.assertError(owner().post(path, {"name": "x", "expires_in": 0}), 422)
        self.assertError(owner().post(path, {"name": "x", "expires_in": 366}), 422)

    def test_token_empty_name_is_422(self):
        path = "/api/users/%s/tokens" % SERVER.info["owner_id"]
        self.assertError(owner().post(path, {"name": "", "expires_in": 5}), 422)

    def test_token_wrong_type_is_400(self):
        path = "/api/users/%s/tokens" % SERVER.info["owner_id"]
        self.assertError(owner().post(path, {"name": "x", "expires_in": "5"}), 400)

    def test_user_manages_own_tokens(self):
        path = "/api/users/%s/tokens" % SERVER.info["user_id"]
        created = self.ok(user().post(path, {"name": "mine", "expires_in": 2}))
        self.assertIn(created["personal_access_token"]["id"],
                      [t["id"] for t in self.ok(user().get(path))])

    def test_user_cannot_touch_others_tokens(self):
        self.assertError(user().get("/api/users/%s/tokens" % SERVER.info["owner_id"]), 403)

    def test_admin_cannot_create_tokens_for_regular_users(self):
        self.assertError(admin().post("/api/users/%s/tokens" % SERVER.info["user_id"],
                                      {"name": "x", "expires_in": 5}), 403)

    def test_tokens_of_other_accounts_user_is_404(self):
        others = self.ok(other().get("/api/users"))
        self.assertError(owner().get("/api/users/%s/tokens" % others[0]["id"]), 404)

    def test_unknown_token_is_404(self):
        self.assertError(owner().get("/api/users/%s/tokens/nosuchtoken" %
                                     SERVER.info["owner_id"]), 404)


# ---------------------------------------------------------------------------
class PeersTest(RestCase):
    def test_list_peers(self):
        peers = self.ok(owner().get("/api/peers"))
        ids = {p["id"] for p in peers}
        self.assertTrue({SERVER.info["peer1_id"], SERVER.info["peer2_id"],
                         SERVER.info["user_peer_id"]} <= ids)
        self.assertNotIn(SERVER.info["other_peer_id"], ids)
        p = [p for p in peers if p["id"] == SERVER.info["peer1_id"]][0]
        for field in ("id", "name", "ip", "connected", "last_seen", "os", "version", "groups",
                      "ssh_enabled", "hostname", "dns_label", "login_expiration_enabled",
                      "login_expired", "last_login", "accessible_peers_count", "created_at"):
            self.assertIn(field, p)
        self.assertEqual(p["hostname"], "alpha")
        self.assertTrue(p["ip"].startswith("100."))
        self.assertTrue(p["dns_label"].startswith("alpha."))
        self.assertIn("All", [g["name"] for g in p["groups"]])
        # As NetBird's listing, the count is not computed here (see
        # /accessible-peers).
        self.assertEqual(p["accessible_peers_count"], 0)

    def test_filter_by_name(self):
        peers = self.ok(owner().get("/api/peers?name=beta"))
        self.assertEqual([p["id"] for p in peers], [SERVER.info["peer2_id"]])

    def test_filter_by_ip(self):
        p = self.ok(owner().get("/api/peers/" + SERVER.info["peer1_id"]))
        peers = self.ok(owner().get("/api/peers?ip=" + p["ip"]))
        self.assertEqual([x["id"] for x in peers], [p["id"]])

    def test_filter_is_substring(self):
        peers = self.ok(owner().get("/api/peers?name=ALP"))
        self.assertEqual([p["id"] for p in peers], [SERVER.info["peer1_id"]])

    def test_filter_no_match(self):
        self.assertEqual(self.ok(owner().get("/api/peers?name=nobody")), [])

    def test_get_peer(self):
        p = self.ok(owner().get("/api/peers/" + SERVER.info["peer2_id"]))
        self.assertEqual(p["name"], "beta")
        self.assertNotIn("accessible_peers_count", p)

    def test_get_other_accounts_peer_is_404(self):
        self.assertError(owner().get("/api/peers/" + SERVER.info["other_peer_id"]), 404)

    def test_get_unknown_peer_is_404(self):
        self.assertError(owner().get("/api/peers/doesnotexist"), 404)

    def test_rename_peer(self):
        pid = SERVER.info["peer2_id"]
        p = self.ok(owner().put("/api/peers/" + pid, {"name": "Beta Renamed", "ssh_enabled": True,
                                                      "login_expiration_enabled": False,
                                                      "inactivity_expiration_enabled": False}))
        self.assertEqual(p["name"], "Beta Renamed")
        self.assertTrue(p["ssh_enabled"])
        self.assertEqual(self.ok(owner().get("/api/peers/" + pid))["name"], "Beta Renamed")
        self.ok(owner().put("/api/peers/" + pid, {"name": "beta", "ssh_enabled": False,
                                                  "login_expiration_enabled": False,
                                                  "inactivity_expiration_enabled": False}))

    def test_rename_empty_is_422(self):
        self.assertError(owner().put("/api/peers/" + SERVER.info["peer1_id"],
                                     {"name": "", "ssh_enabled": False,
                                      "login_expiration_enabled": False,
                                      "inactivity_expiration_enabled": False}), 422)

    def test_update_wrong_type_is_400(self):
        self.assertError(owner().put("/api/peers/" + SERVER.info["peer1_id"],
                                     {"name": "x", "ssh_enabled": "yes"}), 400)

    def test_accessible_peers(self):
        acc = self.ok(owner().get("/api/peers/%s/accessible-peers" % SERVER.info["peer1_id"]))
        ids = [p["id"] for p in acc]
        # The default policy (All <-> All) lets it reach every other peer.
        self.assertEqual(len(ids), len(self.ok(owner().get("/api/peers"))) - 1)
        self.assertIn(SERVER.info["peer2_id"], ids)
        self.assertNotIn(SERVER.info["peer1_id"], ids)
        self.assertNotIn(SERVER.info["other_peer_id"], ids)
        for field in ("id", "name", "ip", "dns_label", "user_id", "os", "connected",
                      "last_seen"):
            self.assertIn(field, acc[0])

    def test_user_sees_own_peers_only(self):
        peers = self.ok(user().get("/api/peers"))
        self.assertEqual([p["id"] for p in peers], [SERVER.info["user_peer_id"]])

    def test_user_cannot_see_others_peer(self):
        self.assertError(user().get("/api/peers/" + SERVER.info["peer1_id"]), 404)

    def test_user_cannot_update_peer(self):
        self.assertError(user().put("/api/peers/" + SERVER.info["user_peer_id"],
                                    {"name": "mine", "ssh_enabled": False,
                                     "login_expiration_enabled": False,
                                     "inactivity_expiration_enabled": False}), 403)

    def test_user_cannot_delete_peer(self):
        self.assertError(user().delete("/api/peers/" + SERVER.info["user_peer_id"]), 403)

    def test_delete_other_accounts_peer_is_404(self):
        self.assertError(owner().delete("/api/peers/" + SERVER.info["other_peer_id"]), 404)
        self.ok(other().get("/api/peers/" + SERVER.info["other_peer_id"]))


class RegularUsersViewBlockedTest(RestCase):
    """Its own server: the setting changes what regular users see."""

    def test_view_blocked_hides_peers_from_users(self):
        server = RestServer()
        try:
            own = Api(server.info["owner_token"], server.url)
            usr = Api(server.info["user_token"], server.url)
            self.assertEqual(len(self.ok(usr.get("/api/peers"))), 1)
            a = self.ok(own.put("/api/accounts/" + server.info["account_id"],
                                {"settings": {"regular_users_view_blocked": True}}))
            self.assertTrue(a["settings"]["regular_users_view_blocked"])
            self.assertEqual(self.ok(usr.get("/api/peers")), [])
            self.assertError(usr.get("/api/peers/" + server.info["user_peer_id"]), 404)
            me = self.ok(usr.get("/api/users/current"))
            self.assertTrue(me["permissions"]["is_restricted"])
            # Admins still see everything.
            self.assertGreaterEqual(len(self.ok(own.get("/api/peers"))), 3)
        finally:
            server.stop()


class PeerDeletionTest(RestCase):
    def test_delete_peer(self):
        server = RestServer()
        try:
            api = Api(server.info["owner_token"], server.url)
            pid = server.info["peer1_id"]
            r = api.delete("/api/peers/" + pid)
            self.assertStatus(r, 200)
            self.assertEqual(r.json(), {})
            self.assertError(api.get("/api/peers/" + pid), 404)
            events = self.ok(api.get("/api/events/audit"))
            self.assertTrue(any(e["target_id"] == pid and
                                e["initiator_id"] == server.info["owner_id"] for e in events))
        finally:
            server.stop()


# ---------------------------------------------------------------------------
class SetupKeysTest(RestCase):
    def create(self, **fields):
        body = {"name": unique("key"), "type": "reusable", "expires_in": 86400,
                "auto_groups": [], "usage_limit": 0}
        body.update(fields)
        return owner().post("/api/setup-keys", body)

    def test_create_returns_key_once(self):
        k = self.ok(self.create(ephemeral=True))
        self.assertGreaterEqual(len(k["key"]), 32)
        self.assertNotIn("*", k["key"])
        self.assertEqual(k["state"], "valid")
        self.assertTrue(k["valid"])
        self.assertTrue(k["ephemeral"])
        self.assertEqual(k["type"], "reusable")
        for field in ("id", "key", "name", "expires", "type", "valid", "revoked", "used_times",
                      "last_used", "state", "auto_groups", "updated_at", "usage_limit",
                      "ephemeral", "allow_extra_dns_labels"):
            self.assertIn(field, k)
        again = self.ok(owner().get("/api/setup-keys/" + k["id"]))
        self.assertNotEqual(again["key"], k["key"])
        self.assertNotIn(k["key"], json.dumps(self.ok(owner().get("/api/setup-keys"))))

    def test_list_includes_new_key(self):
        k = self.ok(self.create())
        self.assertIn(k["id"], [x["id"] for x in self.ok(owner().get("/api/setup-keys"))])

    def test_one_off_key(self):
        k = self.ok(self.create(type="one-off", usage_limit=1))
        self.assertEqual(k["type"], "one-off")
        self.assertEqual(k["usage_limit"], 1)

    def test_auto_groups(self):
        g = self.make_group()
        k = self.ok(self.create(auto_groups=[g["id"]]))
        self.assertEqual(k["auto_groups"], [g["id"]])

    def test_unknown_auto_group_is_rejected(self):
        self.assertError(self.create(auto_groups=["nosuchgroup"]), 422)

    def test_empty_name_is_422(self):
        self.assertError(self.create(name=""), 422)

    def test_unknown_type_is_422(self):
        self.assertError(self.create(type="forever"), 422)

    def test_one_off_with_usage_limit_is_422(self):
        self.assertError(self.create(type="one-off", usage_limit=5), 422)

    def test_negative_expiry_is_422(self):
        self.assertError(self.create(expires_in=-5), 422)

    def test_expiry_over_a_year_is_422(self):
        self.assertError(self.create(expires_in=10 ** 9), 422)

    def test_wrong_types_are_400(self):
        self.assertError(self.create(expires_in="1d"), 400)
        self.assertError(self.create(usage_limit=1.5), 400)
        self.assertError(self.create(ephemeral="yes"), 400)
        self.assertError(self.create(auto_groups=[1, 2]), 400)
        self.assertError(self.create(name=42), 400)

    def test_revoke(self):
        k = self.ok(self.create())
        r = self.ok(owner().put("/api/setup-keys/" + k["id"], {"revoked": True,
                                                               "auto_groups": []}))
        self.assertTrue(r["revoked"])
        self.assertFalse(r["valid"])
        self.assertEqual(r["state"], "revoked")

    def test_revoked_key_cannot_be_reactivated(self):
        k = self.ok(self.create())
        self.ok(owner().put("/api/setup-keys/" + k["id"], {"revoked": True, "auto_groups": []}))
        self.assertError(owner().put("/api/setup-keys/" + k["id"],
                                     {"revoked": False, "auto_groups": []}), 422)

    def test_delete(self):
        k = self.ok(self.create())
        self.assertEqual(self.ok(owner().delete("/api/setup-keys/" + k["id"])), {})
        self.assertError(owner().get("/api/setup-keys/" + k["id"]), 404)

    def test_other_accounts_key_is_404(self):
        self.assertError(owner().get("/api/setup-keys/" + SERVER.info["other_setup_key_id"]),
                         404)
        self.assertError(owner().put("/api/setup-keys/" + SERVER.info["other_setup_key_id"],
                                     {"revoked": True, "auto_groups": []}), 404)

    def test_user_cannot_list_or_create(self):
        self.assertError(user().get("/api/setup-keys"), 403)
        self.assertError(user().post("/api/setup-keys", {"name": "x", "type": "reusable",
                                                         "expires_in": 86400,
                                                         "auto_groups": [],
                                                         "usage_limit": 0}), 403)

    def test_admin_can_create(self):
        self.ok(admin().post("/api/setup-keys", {"name": unique("k"), "type": "reusable",
                                                 "expires_in": 86400, "auto_groups": [],
                                                 "usage_limit": 0}))


# ---------------------------------------------------------------------------
class GroupsTest(RestCase):
    def test_create_and_list(self):
        g = self.make_group(peers=[SERVER.info["peer1_id"]])
        self.assertEqual(g["peers_count"], 1)
        self.assertEqual(g["peers"][0]["id"], SERVER.info["peer1_id"])
        self.assertEqual(g["peers"][0]["name"], "alpha")
        self.assertIn(g["id"], [x["id"] for x in self.ok(owner().get("/api/groups"))])
        self.assertEqual(self.ok(owner().get("/api/groups/" + g["id"]))["name"], g["name"])

    def test_all_group_exists(self):
        groups = self.ok(owner().get("/api/groups"))
        self.assertIn("All", [g["name"] for g in groups])

    def test_update(self):
        g = self.make_group()
        new_name = unique("renamed")
        u = self.ok(owner().put("/api/groups/" + g["id"],
                                {"name": new_name, "peers": [SERVER.info["peer2_id"]]}))
        self.assertEqual(u["name"], new_name)
        self.assertEqual([p["id"] for p in u["peers"]], [SERVER.info["peer2_id"]])

    def test_empty_name_is_422(self):
        self.assertError(owner().post("/api/groups", {"name": ""}), 422)

    def test_missing_name_is_422(self):
        self.assertError(owner().post("/api/groups", {"peers": []}), 422)

    def test_duplicate_name_is_rejected(self):
        g = self.make_group()
        self.assertError(owner().post("/api/groups", {"name": g["name"]}), 409)

    def test_unknown_peer_is_rejected(self):
        self.assertError(owner().post("/api/groups", {"name": unique("g"),
                                                      "peers": ["nosuchpeer"]}), 422)

    def test_other_accounts_peer_is_rejected(self):
        self.assertError(owner().post("/api/groups", {"name": unique("g"),
                                                      "peers": [SERVER.info["other_peer_id"]]}),
                         422)

    def test_update_all_is_422(self):
        all_group = [g for g in self.ok(owner().get("/api/groups")) if g["name"] == "All"][0]
        self.assertError(owner().put("/api/groups/" + all_group["id"],
                                     {"name": "Everyone", "peers": []}), 422)

    def test_delete_all_is_refused(self):
        all_group = [g for g in self.ok(owner().get("/api/groups")) if g["name"] == "All"][0]
        self.assertError(owner().delete("/api/groups/" + all_group["id"]), 422)
        self.assertIn("All", [g["name"] for g in self.ok(owner().get("/api/groups"))])

    def test_delete(self):
        g = self.make_group()
        self.assertEqual(self.ok(owner().delete("/api/groups/" + g["id"])), {})
        self.assertError(owner().get("/api/groups/" + g["id"]), 404)

    def test_delete_group_in_use_is_400(self):
        g = self.make_group()
        self.make_policy(g["id"])
        self.assertError(owner().delete("/api/groups/" + g["id"]), 400)
        self.ok(owner().get("/api/groups/" + g["id"]))

    def test_sql_metacharacters_round_trip(self):
        name = "Robert'); DROP TABLE groups;-- \"%_\\ ü 🚀"
        g = self.make_group(name=name)
        self.assertEqual(g["name"], name)
        self.assertEqual(self.ok(owner().get("/api/groups/" + g["id"]))["name"], name)
        self.assertIn(name, [x["name"] for x in self.ok(owner().get("/api/groups"))])

    def test_other_accounts_group_is_404(self):
        theirs = self.ok(other().post("/api/groups", {"name": unique("theirs")}))
        self.assertError(owner().get("/api/groups/" + theirs["id"]), 404)
        self.assertError(owner().put("/api/groups/" + theirs["id"], {"name": "mine"}), 404)
        self.assertError(owner().delete("/api/groups/" + theirs["id"]), 404)
        self.assertNotIn(theirs["id"], [g["id"] for g in self.ok(owner().get("/api/groups"))])

    def test_user_cannot_read_or_write_groups(self):
        self.assertError(user().get("/api/groups"), 403)
        self.assertError(user().post("/api/groups", {"name": unique("g")}), 403)

    def test_admin_can_write_groups(self):
        self.ok(admin().post("/api/groups", {"name": unique("g")}))


# ---------------------------------------------------------------------------
class PoliciesTest(RestCase):
    def body(self, group_id, **rule):
        r = {"name": "rule", "enabled": True, "action": "accept", "bidirectional": True,
             "protocol": "tcp", "ports": ["22", "443"], "sources": [group_id],
             "destinations": [group_id]}
        r.update(rule)
        return {"name": unique("policy"), "description": "d", "enabled": True,
                "source_posture_checks": [], "rules": [r]}

    def test_create_get_list(self):
        g = self.make_group()
        p = self.ok(owner().post("/api/policies", self.body(g["id"])))
        self.assertEqual(len(p["rules"]), 1)
        rule = p["rules"][0]
        self.assertTrue(rule["id"])
        self.assertEqual(rule["protocol"], "tcp")
        self.assertEqual(rule["ports"], ["22", "443"])
        self.assertEqual(rule["sources"][0]["id"], g["id"])
        self.assertEqual(rule["sources"][0]["name"], g["name"])
        self.assertEqual(self.ok(owner().get("/api/policies/" + p["id"]))["name"], p["name"])
        self.assertIn(p["id"], [x["id"] for x in self.ok(owner().get("/api/policies"))])

    def test_default_policy_exists(self):
        policies = self.ok(owner().get("/api/policies"))
        self.assertTrue(any(p["name"] == "Default" for p in policies))

    def test_port_ranges(self):
        g = self.make_group()
        body = self.body(g["id"], ports=None, port_ranges=[{"start": 8000, "end": 8100}])
        del body["rules"][0]["ports"]
        p = self.ok(owner().post("/api/policies", body))
        self.assertEqual(p["rules"][0]["port_ranges"], [{"start": 8000, "end": 8100}])

    def test_update(self):
        g = self.make_group()
        p = self.ok(owner().post("/api/policies", self.body(g["id"])))
        body = self.body(g["id"], action="drop", protocol="udp", ports=["53"])
        body["name"] = "renamed"
        u = self.ok(owner().put("/api/policies/" + p["id"], body))
        self.assertEqual(u["name"], "renamed")
        self.assertEqual(u["rules"][0]["action"], "drop")
        self.assertEqual(u["rules"][0]["ports"], ["53"])

    def test_delete(self):
        g = self.make_group()
        p = self.ok(owner().post("/api/policies", self.body(g["id"])))
        self.assertEqual(self.ok(owner().delete("/api/policies/" + p["id"])), {})
        self.assertError(owner().get("/api/policies/" + p["id"]), 404)

    def test_validation_failures_are_422(self):
        g = self.make_group()
        cases = [
            dict(action="maybe"),
            dict(protocol="sctp"),
            dict(ports=["0"]),
            dict(ports=["70000"]),
            dict(ports=["http"]),
            dict(protocol="all", ports=["22"]),
            dict(protocol="icmp", ports=["22"]),
            dict(ports=None, port_ranges=[{"start": 90, "end": 80}]),
            dict(sources=["nosuchgroup"]),
        ]
        for rule in cases:
            with self.subTest(rule=rule):
                self.assertError(owner().post("/api/policies", self.body(g["id"], **rule)), 422)

    def test_no_rules_is_422(self):
        self.assertError(owner().post("/api/policies", {"name": "x", "enabled": True,
                                                        "rules": []}), 422)

    def test_empty_name_is_422(self):
        g = self.make_group()
        body = self.body(g["id"])
        body["name"] = ""
        self.assertError(owner().post("/api/policies", body), 422)

    def test_wrong_types_are_400(self):
        g = self.make_group()
        self.assertError(owner().post("/api/policies", self.body(g["id"], ports=[22])), 400)
        self.assertError(owner().post("/api/policies", self.body(g["id"], enabled="true")),
                         400)
        self.assertError(owner().post("/api/policies", {"name": "x", "rules": "all"}), 400)
        self.assertError(owner().post("/api/policies", {"name": "x", "rules": [5]}), 400)

    def test_other_accounts_group_is_rejected(self):
        theirs = self.ok(other().post("/api/groups", {"name": unique("theirs")}))
        self.assertError(owner().post("/api/policies", self.body(theirs["id"])), 422)

    def test_user_cannot_use_policies(self):
        self.assertError(user().get("/api/policies"), 403)


# ---------------------------------------------------------------------------
class RoutesTest(RestCase):
    def body(self, group_id, **fields):
        b = {"description": "office", "network_id": unique("net")[:40], "enabled": True,
             "peer": SERVER.info["peer1_id"], "network": "10.10.0.0/24", "metric": 100,
             "masquerade": True, "groups": [group_id], "keep_route": False}
        b.update(fields)
        return b

    def test_create_get_list_update_delete(self):
        g = self.make_group()
        r = self.ok(owner().post("/api/routes", self.body(g["id"])))
        self.assertEqual(r["network"], "10.10.0.0/24")
        self.assertEqual(r["network_type"], "IPv4")
        self.assertEqual(r["peer"], SERVER.info["peer1_id"])
        self.assertIn(r["id"], [x["id"] for x in self.ok(owner().get("/api/routes"))])
        u = self.ok(owner().put("/api/routes/" + r["id"], self.body(g["id"], metric=5)))
        self.assertEqual(u["metric"], 5)
        self.assertEqual(self.ok(owner().get("/api/routes/" + r["id"]))["metric"], 5)
        self.assertEqual(self.ok(owner().delete("/api/routes/" + r["id"])), {})
        self.assertError(owner().get("/api/routes/" + r["id"]), 404)

    def test_validation(self):
        g = self.make_group()
        for fields in (dict(metric=0), dict(metric=10000), dict(network="not-a-cidr"),
                       dict(network_id=""), dict(groups=[]), dict(peer="nosuchpeer")):
            with self.subTest(fields=fields):
                self.assertError(owner().post("/api/routes", self.body(g["id"], **fields)), 422)

    def test_peer_groups_route(self):
        g = self.make_group()
        body = self.body(g["id"], peer_groups=[g["id"]])
        del body["peer"]
        r = self.ok(owner().post("/api/routes", body))
        self.assertEqual(r["peer_groups"], [g["id"]])
        self.assertNotIn("peer", r)

    def test_domain_route(self):
        g = self.make_group()
        body = self.body(g["id"], domains=["example.com"])
        del body["network"]
        r = self.ok(owner().post("/api/routes", body))
        self.assertEqual(r["network_type"], "Domain")
        self.assertEqual(r["domains"], ["example.com"])

    def test_peer_and_peer_groups_is_422(self):
        g = self.make_group()
        self.assertError(owner().post("/api/routes", self.body(g["id"], peer_groups=[g["id"]])),
                         422)

    def test_wrong_type_is_400(self):
        g = self.make_group()
        self.assertError(owner().post("/api/routes", self.body(g["id"], metric="1")), 400)

    def test_user_cannot_use_routes(self):
        self.assertError(user().get("/api/routes"), 403)


# ---------------------------------------------------------------------------
class DnsTest(RestCase):
    def ns_body(self, group_id, **fields):
        b = {"name": unique("ns")[:40], "description": "corp", "enabled": True,
             "nameservers": [{"ip": "10.0.0.53", "ns_type": "udp", "port": 53}],
             "groups": [group_id], "primary": True, "domains": [],
             "search_domains_enabled": False}
        b.update(fields)
        return b

    def test_nameserver_crud(self):
        g = self.make_group()
        ns = self.ok(owner().post("/api/dns/nameservers", self.ns_body(g["id"])))
        self.assertEqual(ns["nameservers"], [{"ip": "10.0.0.53", "ns_type": "udp", "port": 53}])
        self.assertIn(ns["id"], [x["id"] for x in self.ok(owner().get("/api/dns/nameservers"))])
        u = self.ok(owner().put("/api/dns/nameservers/" + ns["id"],
                                self.ns_body(g["id"], primary=False, domains=["corp.example"])))
        self.assertEqual(u["domains"], ["corp.example"])
        self.assertEqual(self.ok(owner().get("/api/dns/nameservers/" + ns["id"]))["domains"],
                         ["corp.example"])
        self.assertEqual(self.ok(owner().delete("/api/dns/nameservers/" + ns["id"])), {})
        self.assertError(owner().get("/api/dns/nameservers/" + ns["id"]), 404)

    def test_nameserver_validation(self):
        g = self.make_group()
        for fields in (dict(nameservers=[]), dict(groups=[]), dict(name=""),
                       dict(nameservers=[{"ip": "not-an-ip", "ns_type": "udp", "port": 53}]),
                       dict(nameservers=[{"ip": "1.1.1.1", "ns_type": "tcp", "port": 53}]),
                       dict(nameservers=[{"ip": "1.1.1.1", "ns_type": "udp", "port": 0}]),
                       dict(primary=True, domains=["x.example"]),
                       dict(primary=False, domains=[])):
            with self.subTest(fields=fields):
                self.assertError(owner().post("/api/dns/nameservers",
                                              self.ns_body(g["id"], **fields)), 422)

    def test_dns_settings(self):
        g = self.make_group()
        s = self.ok(owner().put("/api/dns/settings", {"disabled_management_groups": [g["id"]]}))
        self.assertEqual(s["disabled_management_groups"], [g["id"]])
        self.assertEqual(self.ok(owner().get("/api/dns/settings")),
                         {"disabled_management_groups": [g["id"]]})
        self.ok(owner().put("/api/dns/settings", {"disabled_management_groups": []}))

    def test_dns_settings_unknown_group(self):
        self.assertError(owner().put("/api/dns/settings",
                                     {"disabled_management_groups": ["nosuchgroup"]}), 422)

    def test_dns_settings_wrong_type_is_400(self):
        self.assertError(owner().put("/api/dns/settings", {"disabled_management_groups": "x"}),
                         400)

    def test_user_cannot_use_dns(self):
        self.assertError(user().get("/api/dns/settings"), 403)
        self.assertError(user().get("/api/dns/nameservers"), 403)


# ---------------------------------------------------------------------------
class EventsTest(RestCase):
    def test_changes_are_audited_with_actor(self):
        g = self.ok(admin().post("/api/groups", {"name": unique("audited")}))
        events = self.ok(owner().get("/api/events/audit"))
        mine = [e for e in events if e["target_id"] == g["id"]]
        self.assertTrue(mine, "no event for the new group")
        e = mine[0]
        self.assertEqual(e["activity_code"], "group.add")
        self.assertEqual(e["initiator_id"], SERVER.info["admin_id"])
        self.assertEqual(e["initiator_email"], "admin@example.com")
        for field in ("id", "timestamp", "activity", "activity_code", "initiator_id",
                      "initiator_name", "initiator_email", "target_id", "meta"):
            self.assertIn(field, e)

    def test_other_account_events_are_hidden(self):
        theirs = self.ok(other().post("/api/groups", {"name": unique("secret")}))
        events = self.ok(owner().get("/api/events/audit"))
        self.assertNotIn(theirs["id"], [e["target_id"] for e in events])

    def test_pagination(self):
        for _ in range(3):
            self.make_group()
        r = owner().get("/api/events/audit?page=1&page_size=2")
        self.assertEqual(len(self.ok(r)), 2)
        self.assertGreaterEqual(int(r.headers["X-Total-Count"]), 3)
        page2 = self.ok(owner().get("/api/events/audit?page=2&page_size=2"))
        self.assertNotEqual([e["id"] for e in page2], [e["id"] for e in r.json()])

    def test_paginated_by_default(self):
        # Without page, this answered every event of the account at once.
        total = int(owner().get("/api/events/audit").headers["X-Total-Count"])
        for _ in range(max(1, 230 - total)):
            self.make_group()
        r = owner().get("/api/events/audit")
        total = int(r.headers["X-Total-Count"])
        self.assertGreaterEqual(total, 230)
        first = [e["id"] for e in self.ok(r)]
        self.assertEqual(len(first), 100)
        second = [e["id"] for e in self.ok(owner().get("/api/events/audit?page=2"))]
        self.assertEqual(len(second), 100)
        self.assertFalse(set(first) & set(second))
        # Newest first across pages.
        self.assertGreater(int(first[-1]), int(second[0]))
        last_page = (total + 99) // 100
        rest = self.ok(owner().get("/api/events/audit?page=%d" % last_page))
        self.assertEqual(len(rest), total - (last_page - 1) * 100)
        self.assertEqual(self.ok(owner().get("/api/events/audit?page=%d" % (last_page + 1))), [])
        self.assertEqual(self.ok(owner().get("/api/events/audit?page=4294967295")), [])
        everything = self.ok(owner().get("/api/events/audit?page_size=1000"))
        self.assertEqual(len(everything), min(total, 1000))
        self.assertEqual([e["id"] for e in everything[:200]], first + second)

    def test_bad_page_values_are_400(self):
        for query in ("page=0", "page=-1", "page=1.5", "page=", "page=4294967296",
                      "page_size=0", "page_size=1001", "page_size=-5", "page_size=x"):
            with self.subTest(query=query):
                message = self.assertError(owner().get("/api/events/audit?" + query), 400)
                self.assertIn(query.split("=")[0], message)

    def test_search(self):
        name = unique("searchable")
        g = self.make_group(name=name)
        events = self.ok(owner().get("/api/events/audit?search=" + name.upper()))
        self.assertEqual([e["target_id"] for e in events], [g["id"]])
        self.assertEqual(self.ok(owner().get("/api/events/audit?search=" + unique("none"))), [])

    def test_filter_by_initiator(self):
        self.ok(admin().post("/api/groups", {"name": unique("by-admin")}))
        events = self.ok(owner().get("/api/events/audit?user_id=" + SERVER.info["admin_id"]))
        self.assertTrue(events)
        self.assertTrue(all(e["initiator_id"] == SERVER.info["admin_id"] for e in events))

    def test_bad_page_is_400(self):
        self.assertError(owner().get("/api/events/audit?page=zero"), 400)

    def test_user_cannot_read_events(self):
        self.assertError(user().get("/api/events/audit"), 403)


# ---------------------------------------------------------------------------
class HostileInputTest(RestCase):
    def test_malformed_json_is_400(self):
        self.assertError(owner().post("/api/groups", raw='{"name": "x",',
                                      headers={"Content-Type": "application/json"}), 400)

    def test_not_an_object_is_400(self):
        for raw in ('["name"]', '"name"', '42', 'null', 'true'):
            with self.subTest(raw=raw):
                self.assertError(owner().post("/api/groups", raw=raw), 400)

    def test_empty_body_is_400(self):
        self.assertError(owner().post("/api/groups", raw=""), 400)

    def test_invalid_utf8_is_400(self):
        self.assertError(owner().post("/api/groups", raw=b'{"name": "\xff\xfe"}'), 400)

    def test_deep_nesting_is_400(self):
        raw = '{"name": "x", "peers": ' + "[" * 100000 + "]" * 100000 + "}"
        self.assertError(owner().post("/api/groups", raw=raw), 400)

    def test_huge_body_is_413(self):
        raw = '{"name": "' + "x" * (2 * 1024 * 1024) + '"}'
        try:
            r = owner().post("/api/groups", raw=raw)
        except requests.exceptions.ConnectionError:
            # The server may close the connection before reading the body.
            r = None
        if r is not None:
            self.assertError(r, 413)
        # Nothing was created and the server is alive.
        self.assertNotIn("x" * 100, json.dumps(self.ok(owner().get("/api/groups"))))

    def test_huge_chunked_body_is_413(self):
        def chunks():
            yield b'{"name": "'
            for _ in range(40):
                yield b"y" * 65536
            yield b'"}'
        r = requests.post(SERVER.url + "/api/groups", data=chunks(),
                          headers={"Authorization": "Token " + SERVER.info["owner_token"],
                                   "Content-Type": "application/json"}, timeout=30)
        self.assertError(r, 413)

    def test_integer_out_of_range_is_422(self):
        # json-glib reads integers past 64 bits as other numbers (the huge
        # expires_in below was -1, a key that never expires).
        keys_before = len(self.ok(owner().get("/api/setup-keys")))
        for literal in ("99999999999999999999999", "-99999999999999999999999",
                        "9223372036854775808", "18446744073709551615", "-9223372036854775809"):
            with self.subTest(literal=literal):
                raw = '{"name": "k", "type": "reusable", "expires_in": %s}' % literal
                message = self.assertError(owner().post("/api/setup-keys", raw=raw), 422)
                self.assertIn("expires_in", message)
                self.assertIn("out of range", message)
                self.assertIn(literal[:20], message)
        for path, raw, field in (
                ("/api/setup-keys", '{"name": "k", "type": "reusable", "expires_in": 60, '
                                    '"usage_limit": 99999999999999999999999}', "usage_limit"),
                ("/api/routes", '{"description": "r", "network_id": "n", "enabled": true, '
                                '"network": "10.9.0.0/16", "metric": 18446744073709551617, '
                                '"groups": []}', "metric"),
                ("/api/setup-keys", '{"name": "k", "type": "reusable", "expires_in": 1e400}',
                 "expires_in")):
            with self.subTest(path=path, field=field):
                message = self.assertError(owner().post(path, raw=raw), 422)
                self.assertIn(field, message)
        self.assertEqual(len(self.ok(owner().get("/api/setup-keys"))), keys_before)
        # The largest 64-bit value is read as itself, and refused by the rule.
        message = self.assertError(owner().post(
            "/api/setup-keys", raw='{"name": "k", "type": "reusable", '
                                   '"expires_in": 9223372036854775807}'), 422)
        self.assertIn("at most", message)
        # Numbers inside strings are text.
        group = self.make_group(name="99999999999999999999999")
        self.assertEqual(group["name"], "99999999999999999999999")

    def test_wrong_types(self):
        for body in ({"name": 5}, {"name": ["x"]}, {"name": {"a": 1}}, {"name": True},
                     {"name": "x", "peers": "p"}, {"name": "x", "peers": [None]}):
            with self.subTest(body=body):
                self.assertError(owner().post("/api/groups", body), 400)

    def test_unknown_ids_with_metacharacters_are_404(self):
        for pid in ("' OR '1'='1", "x; DROP TABLE peers", "%00", "..", "a%2Fb"):
            with self.subTest(pid=pid):
                r = owner().get("/api/peers/" + requests.utils.quote(pid, safe=""))
                self.assertError(r, 404)
        # The table is still there.
        self.assertTrue(self.ok(owner().get("/api/peers")))

    def test_too_deep_path_is_404(self):
        self.assertError(owner().get("/api/users/a/tokens/b/c"), 404)

    def test_unicode_and_json_escapes_round_trip(self):
        name = "quote \" backslash \\ slash / ✓ Zoë 中文 \U0001f469\u200d\U0001f4bb"
        g = self.make_group(name=name)
        self.assertEqual(self.ok(owner().get("/api/groups/" + g["id"]))["name"], name)

    # Each character a name may not hold, and the words the 422 uses for it.
    REFUSED_CHARACTERS = [
        ("\t", "control character U+0009"),
        ("\n", "control character U+000A"),
        ("\x1b", "control character U+001B"),
        ("\x85", "control character U+0085"),
        ("\u2028", "line break U+2028"),
        ("\u202e", "bidirectional control U+202E"),
        ("\u2066", "bidirectional control U+2066"),
        ("\u200f", "bidirectional control U+200F"),
        ("\u200b", "invisible format character U+200B"),
        ("\ufeff", "invisible format character U+FEFF"),
    ]

    def test_names_refuse_control_bidi_and_invisible_characters(self):
        """Every name and description the API takes, with each refused
        character: 422 naming it, and nothing stored."""
        g = self.make_group()
        pid = SERVER.info["peer1_id"]
        uid = SERVER.info["owner_id"]
        rule = {"name": "r", "enabled": True, "action": "accept", "bidirectional": True,
                "protocol": "all", "sources": [g["id"]], "destinations": [g["id"]]}

        def policy(name="p", description="", rule_fields=None):
            return {"name": name, "description": description, "enabled": True,
                    "rules": [dict(rule, **(rule_fields or {}))]}

        def route(**fields):
            b = {"description": "d", "network_id": "n", "enabled": True, "peer": pid,
                 "network": "10.30.0.0/24", "metric": 1, "masquerade": False,
                 "groups": [g["id"]], "keep_route": False}
            b.update(fields)
            return b

        def nameservers(**fields):
            b = {"name": "n", "description": "", "enabled": True,
                 "nameservers": [{"ip": "10.0.0.53", "ns_type": "udp", "port": 53}],
                 "groups": [g["id"]], "primary": True, "domains": [],
                 "search_domains_enabled": False}
            b.update(fields)
            return b

        before = {path: len(self.ok(owner().get(path)))
                  for path in ("/api/groups", "/api/setup-keys", "/api/policies", "/api/users",
                               "/api/routes", "/api/dns/nameservers",
                               "/api/users/%s/tokens" % uid)}
        for char, words in self.REFUSED_CHARACTERS:
            bad = "name" + char + "x"
            writes = [
                ("POST", "/api/groups", {"name": bad, "peers": []}),
                ("PUT", "/api/groups/" + g["id"], {"name": bad, "peers": []}),
                ("POST", "/api/setup-keys", {"name": bad, "type": "reusable", "expires_in": 86400,
                                             "auto_groups": [], "usage_limit": 0}),
                ("POST", "/api/policies", policy(name=bad)),
                ("POST", "/api/policies", policy(description=bad)),
                ("POST", "/api/policies", policy(rule_fields={"name": bad})),
                ("POST", "/api/policies", policy(rule_fields={"description": bad})),
                ("POST", "/api/users", {"name": bad, "role": "user", "auto_groups": [],
                                        "is_service_user": True}),
                ("POST", "/api/users", {"email": "a%sb@example.com" % char, "name": "n",
                                        "role": "user", "auto_groups": [],
                                        "is_service_user": False}),
                ("POST", "/api/users/%s/tokens" % uid, {"name": bad, "expires_in": 30}),
                ("PUT", "/api/peers/" + pid, {"name": bad}),
                ("POST", "/api/routes", route(network_id=bad)),
                ("POST", "/api/routes", route(description=bad)),
                ("POST", "/api/dns/nameservers", nameservers(name=bad)),
                ("POST", "/api/dns/nameservers", nameservers(description=bad)),
            ]
            for method, path, body in writes:
                with self.subTest(char=repr(char), method=method, path=path):
                    message = self.assertError(owner().call(method, path, body), 422)
                    self.assertIn(words, message)
        for path, count in before.items():
            self.assertEqual(len(self.ok(owner().get(path))), count, path)
        self.assertNotIn("\n", self.ok(owner().get("/api/groups/" + g["id"]))["name"])

    def test_escapes_json_glib_would_cut_are_400(self):
        """json-glib decodes strings into C strings: an escaped NUL, or an
        escape its lenient scanner reads as one ("\\u000g"), would store
        "abc" for "abc\\u0000def". Each is a 400, and nothing is stored."""
        before = len(self.ok(owner().get("/api/groups")))
        for raw, words in [('{"name": "abc\\u0000def"}', "NUL"),
                           ('{"name\\u0000x": "y", "name": "abc"}', "NUL"),
                           ('{"name": "abc\\u000gdef"}', "invalid escape"),
                           ('{"name": "abc\\u00:0def"}', "invalid escape"),
                           ('{"name": "abc\\qdef"}', "invalid escape"),
                           ('{"name": "abc\\ud800def"}', "not valid UTF-8"),
                           ('{"name": "ok", "peers": ["x\\udc00y"]}', "peers[0] is not valid UTF-8")]:
            with self.subTest(body=raw):
                r = owner().post("/api/groups", raw=raw.encode(),
                                 headers={"Content-Type": "application/json"})
                self.assertIn(words, self.assertError(r, 400))
        self.assertEqual(len(self.ok(owner().get("/api/groups"))), before)

    def test_sql_metacharacters_in_every_name(self):
        nasty = "x'; DELETE FROM users; --\" OR \"1\"=\"1 %_ \\ `$(id)`"
        g = self.make_group(name=nasty)
        self.assertEqual(g["name"], nasty)
        k = self.ok(owner().post("/api/setup-keys", {"name": nasty, "type": "reusable",
                                                     "expires_in": 86400, "auto_groups": [],
                                                     "usage_limit": 0}))
        self.assertEqual(self.ok(owner().get("/api/setup-keys/" + k["id"]))["name"], nasty)
        p = self.make_policy(g["id"], name=nasty)
        self.assertEqual(self.ok(owner().get("/api/policies/" + p["id"]))["name"], nasty)
        u = self.ok(owner().post("/api/users", {"name": nasty, "role": "user",
                                                "auto_groups": [], "is_service_user": True}))
        self.assertEqual(u["name"], nasty)
        pid = SERVER.info["peer1_id"]
        old = self.ok(owner().get("/api/peers/" + pid))["name"]
        self.assertEqual(self.ok(owner().put("/api/peers/" + pid, {"name": nasty}))["name"], nasty)
        self.ok(owner().put("/api/peers/" + pid, {"name": old}))
        # Every table is still there.
        for path in ("/api/users", "/api/peers", "/api/groups", "/api/setup-keys",
                     "/api/policies"):
            self.assertTrue(self.ok(owner().get(path)))

    def test_type_confusion_never_5xx(self):
        """Every field of every write, replaced by every JSON type: a 4xx
        answer (or success when the value happens to be valid), never a 5xx,
        and the server stays up."""
        g = self.make_group()
        route = {"description": "d", "network_id": "n", "enabled": True,
                 "peer": SERVER.info["peer1_id"], "network": "10.20.0.0/24", "metric": 1,
                 "masquerade": False, "groups": [g["id"]], "keep_route": False}
        ns = {"name": "n", "description": "", "enabled": True,
              "nameservers": [{"ip": "10.0.0.53", "ns_type": "udp", "port": 53}],
              "groups": [g["id"]], "primary": True, "domains": [],
              "search_domains_enabled": False}
        policy = {"name": "p", "enabled": True, "rules": [
            {"name": "r", "enabled": True, "action": "accept", "bidirectional": True,
             "protocol": "tcp", "ports": ["80"], "sources": [g["id"]],
             "destinations": [g["id"]]}]}
        writes = [
            ("POST", "/api/groups", {"name": "n", "peers": []}),
            ("POST", "/api/setup-keys", {"name": "n", "type": "reusable", "expires_in": 86400,
                                         "auto_groups": [], "usage_limit": 0,
                                         "ephemeral": False}),
            ("POST", "/api/users", {"name": "n", "role": "user", "auto_groups": [],
                                    "is_service_user": True}),
            ("POST", "/api/policies", policy),
            ("POST", "/api/routes", route),
            ("POST", "/api/dns/nameservers", ns),
            ("PUT", "/api/dns/settings", {"disabled_management_groups": []}),
            ("PUT", "/api/accounts/" + SERVER.info["account_id"],
             {"settings": {"peer_login_expiration": 86400}}),
            ("PUT", "/api/peers/" + SERVER.info["peer2_id"], {"name": "beta"}),
            ("POST", "/api/users/%s/tokens" % SERVER.info["owner_id"],
             {"name": "t", "expires_in": 1}),
        ]
        values = [None, 0, -1, 2 ** 62, 1.5, "", "x" * 300, [], [1], {}, {"a": 1}, True]
        for method, path, body in writes:
            fields = list(body.keys())
            if path == "/api/policies":
                fields += ["rules." + k for k in policy["rules"][0]]
            for field in fields:
                for value in values:
                    b = json.loads(json.dumps(body))
                    if field.startswith("rules."):
                        b["rules"][0][field[6:]] = value
                    else:
                        b[field] = value
                    r = owner().call(method, path, body=b)
                    self.assertLess(r.status_code, 500, "%s %s %s=%r -> %d %s" % (
                        method, path, field, value, r.status_code, r.text))
                    if r.status_code >= 400:
                        self.assertEqual(r.json()["code"], r.status_code)
        self.ok(owner().get("/api/peers"))
        # Undo what valid values changed for the other tests.
        self.ok(owner().put("/api/peers/" + SERVER.info["peer2_id"], {"name": "beta"}))
        self.ok(owner().put("/api/accounts/" + SERVER.info["account_id"],
                            {"settings": {"peer_login_expiration": 86400,
                                          "peer_login_expiration_enabled": True}}))

    def test_nul_in_string_is_rejected(self):
        r = owner().post("/api/groups", raw='{"name": "a\\u0000b"}')
        self.assertIn(r.status_code, (400, 422))


if __name__ == "__main__":
    unittest.main(verbosity=2)
