"""A NetBird REST API user's script, written the way NetBird's API docs show
(Python, requests): list the peers, create a setup key, create a group with
the peers, and a policy letting the group reach itself over SSH and HTTP.

To run it against another server change only BASE_URL and TOKEN (or set
NETBIRD_API_URL and NETBIRD_API_TOKEN).
"""
import json
import os

import requests

BASE_URL = os.environ.get("NETBIRD_API_URL", "https://api.netbird.io")
TOKEN = os.environ.get("NETBIRD_API_TOKEN", "<YOUR_PERSONAL_ACCESS_TOKEN>")

# List all peers
url = BASE_URL + "/api/peers"

headers = {
  'Accept': 'application/json',
  'Authorization': 'Token ' + TOKEN
}

response = requests.request("GET", url, headers=headers)
response.raise_for_status()
peers = response.json()
for peer in peers:
    print(peer["name"], peer["ip"], peer["dns_label"], "connected" if peer["connected"] else "offline")

# Create a setup key
url = BASE_URL + "/api/setup-keys"

payload = json.dumps({
  "name": "Default key",
  "type": "reusable",
  "expires_in": 86400,
  "auto_groups": [],
  "usage_limit": 0,
  "ephemeral": False
})
headers = {
  'Content-Type': 'application/json',
  'Accept': 'application/json',
  'Authorization': 'Token ' + TOKEN
}

response = requests.request("POST", url, headers=headers, data=payload)
response.raise_for_status()
setup_key = response.json()
print("setup key", setup_key["id"], setup_key["state"], "valid" if setup_key["valid"] else "invalid")
assert setup_key["key"], "the new key is returned once"

# Create a group with the peers
url = BASE_URL + "/api/groups"

payload = json.dumps({
  "name": "devs",
  "peers": [peer["id"] for peer in peers]
})

response = requests.request("POST", url, headers=headers, data=payload)
response.raise_for_status()
group = response.json()
print("group", group["id"], group["name"], group["peers_count"], "peers")

# Create a policy
url = BASE_URL + "/api/policies"

payload = json.dumps({
  "name": "Devs SSH and web",
  "description": "devs reach each other on 22 and 80",
  "enabled": True,
  "source_posture_checks": [],
  "rules": [
    {
      "name": "ssh and web",
      "description": "",
      "enabled": True,
      "action": "accept",
      "bidirectional": True,
      "protocol": "tcp",
      "ports": ["22", "80"],
      "sources": [group["id"]],
      "destinations": [group["id"]]
    }
  ]
})

response = requests.request("POST", url, headers=headers, data=payload)
response.raise_for_status()
policy = response.json()
print("policy", policy["id"], policy["name"], [r["protocol"] for r in policy["rules"]])

# Check: the policy is listed
response = requests.request("GET", BASE_URL + "/api/policies", headers=headers)
response.raise_for_status()
assert any(p["id"] == policy["id"] for p in response.json())
print("ok")
