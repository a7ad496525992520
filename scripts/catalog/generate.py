#!/usr/bin/env python3
"""Regenerates catalog/providers.toml, the catalog compiled into statusrelay.

    python3 scripts/catalog/generate.py --data ../shared/data/status-pages [--verify-json FILE]

Inputs (Python 3.11+ standard library only, no network):

* catalog/curated.toml: the hand-written entries. They win every conflict: their id, name, url,
  platform and tags are kept as written; the data only adds aliases and sources.
* DATA/merged.jsonl and the per-source files beside it (the status-page data set with provenance,
  see its README.md and LICENSES.md). statusrelay never reads that folder at run time or in CI:
  the generated file is committed.
* --verify-json FILE (default catalog/verify.json when it exists): the JSON output of
  `statusrelay catalog verify --json`, applied last. Accepted shape: a list of objects, or an
  object with an "entries" list; each verdict `catalog verify` prints (id, outcome, redirects_to,
  detected_platform) is read as (see from_verdict), or each object has at least "id" and any of
    "dead": bool          -> a dead non-curated entry is left out, a dead curated one is unverified
    "moved_to": "https:…" -> becomes the url; the old url becomes an alias
    "platform_detected": a platform name statusrelay knows -> becomes the platform
    "reachable": bool     -> reachable and not dead clears `unverified`
  Unknown fields are ignored; objects whose id is not in the catalog are reported and skipped.

Rules (each one says why in a comment where it is applied):

* Left out: pages the 2026-09 probe found dead by DNS failure, and pages listed only by
  statuscraft (pattern-guessed URLs) unless corroborated.
* unverified = true: statuscraft-only pages that were kept, and pages the probe found dead for a
  reason other than DNS (403/429 bot blocks, TLS, timeouts...).
* platform: "auto" unless the hand-kept sources or the probe agree on a platform statusrelay
  reads; status.io pages with a known page id point at the status.io API document.
* tags: the curated override table, then statuscraft's tags mapped onto the vocabulary, then
  keyword rules over the name and host, and "saas" when nothing matched.

The output is sorted by id and written deterministically: running the script twice on the same
inputs gives a byte-identical file. A summary of what was kept and why goes to stderr.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tomllib
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
CURATED = REPO / "catalog" / "curated.toml"
OUTPUT = REPO / "catalog" / "providers.toml"
DEFAULT_VERIFY = REPO / "catalog" / "verify.json"

# Provenance name of the hand-written entries.
CURATED_SOURCE = "statusrelay"
DATA_SOURCES = [
    "awesome-status-pages",
    "statuscraft",
    "statusphere",
    "stts",
    "vendor-status-watch",
]

# Must match `TAGS` in shared/src/catalog.rs (the catalog test checks every tag against it).
VOCABULARY = {
    "ai", "analytics", "api", "cdn", "cloud", "cms", "communication", "crm", "database",
    "design", "developer-tools", "devops", "ecommerce", "education", "email", "finance",
    "gaming", "healthcare", "hosting", "hr", "identity", "infrastructure", "logistics",
    "marketing", "media", "monitoring", "payments", "productivity", "saas", "security",
    "social", "storage", "support",
}
FALLBACK_TAG = "saas"
MAX_TAGS = 3

# Platforms statusrelay reads (shared/src/sources/detect.rs `DETECTABLE`, plus "auto").
KNOWN_PLATFORMS = {
    "auto", "statuspage", "slack", "instatus", "incidentio", "betterstack", "cachet",
    "statuspal", "statusio", "gcp", "aws", "feed",
}
# Data platform -> what the catalog records. The page URL is enough for these readers.
# incident.io pages usually serve the Statuspage-compatible API, which detection tries first,
# while statusrelay's "incidentio" reader needs a widget API the owner must enable: so "auto".
# Platforms statusrelay has no reader for (hund, uptimerobot, statuscast, ...) and "custom"
# (vendor-specific pages) are "auto" too: detection may still find a feed.
PLATFORM_FROM_DATA = {
    "statuspage": "statuspage",
    "instatus": "instatus",
    "betterstack": "betterstack",
    "cachet": "cachet",
}

# Statuscraft's free-form tags -> the vocabulary. Its tag "saas" is deliberately not mapped:
# it says nothing a fallback would not.
STATUSCRAFT_TAGS = {
    "ai": ["ai", "llm", "ml", "inference", "gpu", "chatbot", "speech-to-text", "transcription",
           "data-labeling"],
    "analytics": ["analytics", "bi", "product-analytics", "attribution", "cdp", "customer-data",
                  "data", "etl", "data-integration"],
    "api": ["api", "graphql", "api-management"],
    "cdn": ["cdn"],
    "cloud": ["cloud", "iaas", "paas", "serverless", "compute"],
    "cms": ["cms", "headless-cms", "content-management", "headless", "wordpress",
            "website-builder", "publishing"],
    "communication": ["communication", "communications", "messaging", "sms", "voice", "voip",
                      "telephony", "chat", "live-chat", "cpaas", "phone", "realtime", "webinars"],
    "crm": ["crm", "sales", "customer-success", "sales-enablement", "prospecting"],
    "database": ["database", "sql", "kafka"],
    "design": ["design", "ux", "creative", "dam"],
    "developer-tools": ["developer-tools", "devtools", "developer", "testing", "qa", "ci-cd",
                        "git", "ide", "feature-flags", "package-registry", "error-tracking",
                        "api-docs"],
    "devops": ["devops", "deployment", "incident-management", "on-call", "orchestration"],
    "ecommerce": ["ecommerce", "pos", "marketplace", "shopify", "retail", "fulfillment"],
    "education": ["education", "lms", "edtech", "learning", "elearning", "courses", "training",
                  "k12"],
    "email": ["email", "transactional", "email-security"],
    "finance": ["fintech", "finance", "banking", "accounting", "crypto", "web3", "blockchain",
                "trading", "lending", "tax", "insurance", "open-banking",
                "banking-as-a-service", "spend-management", "exchange"],
    "gaming": ["gaming"],
    "healthcare": ["healthcare", "ehr", "medical", "wellness", "fitness"],
    "hosting": ["hosting", "managed"],
    "hr": ["hr", "recruiting", "ats", "payroll", "benefits", "workforce", "employee-engagement"],
    "identity": ["identity", "authentication", "auth", "password-manager", "verification"],
    "infrastructure": ["infrastructure", "networking", "network", "dns", "iot"],
    "logistics": ["logistics", "shipping", "delivery", "supply-chain"],
    "marketing": ["marketing", "advertising", "adtech", "engagement", "personalization",
                  "reviews", "reputation", "loyalty"],
    "media": ["media", "video", "streaming", "audio", "content", "creators"],
    "monitoring": ["monitoring", "observability", "logging", "alerting", "uptime",
                   "performance"],
    "payments": ["payments", "billing", "invoicing", "bnpl", "subscriptions",
                 "in-app-purchases"],
    "productivity": ["productivity", "collaboration", "project-management", "scheduling",
                     "calendar", "workflow", "workflows", "automation", "no-code", "low-code",
                     "forms", "surveys", "documents", "e-signature", "file-sharing",
                     "knowledge-base", "time-tracking", "internal-tools", "roadmap",
                     "integration", "ipaas"],
    "security": ["security", "compliance", "zero-trust", "privacy", "consent", "fraud",
                 "appsec", "vpn", "grc", "kyc"],
    "social": ["social", "social-media", "community"],
    "storage": ["storage", "cloud-storage", "backup"],
    "support": ["customer-support", "helpdesk", "cx", "support"],
}
STATUSCRAFT_TAG_TO_VOCABULARY = {
    source_tag: tag for tag, source_tags in STATUSCRAFT_TAGS.items() for source_tag in source_tags
}

# Keyword rules over the name's words and the URL host's labels, for pages no source tagged.
# Whole words only ("pay" matches "Pay Pal" and "pay.example.com", not "paypal"), plus a few
# stems matched inside words where that is safe (mail, cloud, bank, ...).
KEYWORD_WORDS = {
    "ai": ["ai", "gpt", "llm", "ml"],
    "cdn": ["cdn", "edge"],
    "cloud": ["aws", "azure", "gcp"],
    "communication": ["sms", "chat", "voice", "call", "phone", "meet", "talk", "voip",
                      "messaging", "telecom"],
    "crm": ["crm", "sales"],
    "developer-tools": ["git", "dev", "api", "sdk", "ci", "code", "build", "test", "docs"],
    "ecommerce": ["shop", "store", "cart", "commerce", "retail"],
    "finance": ["bank", "capital", "finance", "fintech", "invest", "trade", "trading", "crypto",
                "coin", "wallet", "insurance", "lending", "tax", "accounting", "exchange"],
    "gaming": ["game", "games", "gaming", "play"],
    "healthcare": ["health", "medical", "clinic", "care", "pharma", "dental"],
    "hosting": ["host", "hosting", "server", "servers", "vps", "wp", "wordpress"],
    "hr": ["hr", "hire", "hiring", "recruit", "talent", "payroll", "people", "jobs"],
    "identity": ["auth", "sso", "identity", "login", "id"],
    "infrastructure": ["dns", "network", "networks", "telecom", "fiber", "isp", "datacenter",
                       "colo"],
    "logistics": ["ship", "shipping", "freight", "logistics", "delivery", "fleet", "parcel"],
    "marketing": ["marketing", "ads", "ad", "seo", "campaign", "campaigns", "leads"],
    "media": ["video", "tv", "music", "media", "stream", "streaming", "podcast", "news",
              "radio", "photo"],
    "monitoring": ["monitor", "monitoring", "log", "logs", "uptime", "apm", "metrics",
                   "observability"],
    "payments": ["pay", "payment", "payments", "billing", "checkout", "invoice"],
    "productivity": ["form", "forms", "survey", "docs", "sign", "calendar", "schedule",
                     "task", "tasks", "project", "notes", "wiki", "office", "workspace"],
    "security": ["security", "secure", "vpn", "firewall", "threat", "guard", "cyber", "shield",
                 "protect", "sec"],
    "storage": ["storage", "backup", "drive", "files", "file"],
    "support": ["support", "help", "helpdesk", "desk", "ticket", "tickets"],
    "education": ["edu", "learn", "learning", "school", "course", "courses", "academy",
                  "university", "campus", "class", "classroom"],
}
KEYWORD_STEMS = {
    "email": ["mail"],
    "cloud": ["cloud"],
    "finance": ["bank", "fintech", "coin", "crypto", "chain", "bitcoin", "trading"],
    "developer-tools": ["developer", "github", "gitlab", "jira", "atlassian", "code"],
    "cdn": ["cdn"],
    "infrastructure": ["dns", "network"],
    "analytics": ["analytic", "insight"],
    "monitoring": ["monitor"],
    "security": ["secur", "cyber", "vpn", "guard", "phish", "threat"],
    "database": ["database", "sql", "mongo", "redis", "postgres", "mysql"],
    "hosting": ["hosting", "host", "vps", "server"],
    "payments": ["payment"],
    "education": ["learn"],
    "healthcare": ["health"],
}

# Tags for well-known vendors the data lists but curated.toml does not, by generated id.
# The rules above would get them wrong or only say "saas"; curated entries keep their own tags.
TAG_OVERRIDES = {
    "adobe": ["design", "media"],
    "apple-developer": ["developer-tools"],
    "basecamp": ["productivity"],
    "bluesky": ["social"],
    "canonical": ["infrastructure"],
    "check-point": ["security"],
    "cisco-meraki": ["infrastructure"],
    "civo": ["cloud"],
    "cocoapods": ["developer-tools"],
    "equinix": ["infrastructure", "hosting"],
    "facebook": ["social"],
    "facebook-for-business": ["social", "marketing"],
    "flyio": ["cloud", "hosting"],
    "google-search": ["marketing"],
    "hackerrank": ["hr", "developer-tools"],
    "ionos": ["hosting"],
    "jenkins": ["developer-tools"],
    "jetbrains": ["developer-tools"],
    "leaseweb": ["hosting"],
    "mastodon-social": ["social"],
    "medium": ["media", "social"],
    "microsoft-365-apps": ["productivity", "email"],
    "moodle": ["education"],
    "mozilla": ["developer-tools"],
    "namecheap": ["hosting"],
    "algolia": ["api", "developer-tools"],
    "amazon-web-services": ["cloud", "hosting"],
    "apple": ["developer-tools", "cloud"],
    "asana": ["productivity"],
    "atlassian": ["developer-tools", "productivity"],
    "auth0": ["identity", "security"],
    "autodesk": ["design"],
    "bitbucket": ["developer-tools"],
    "brex": ["finance", "payments"],
    "cisco-webex": ["communication"],
    "citrix": ["infrastructure"],
    "cloudways": ["hosting"],
    "confluence": ["productivity"],
    "crowdstrike": ["security"],
    "docusign": ["productivity"],
    "dynatrace": ["monitoring"],
    "elastic": ["monitoring", "database"],
    "evernote": ["productivity"],
    "freshdesk": ["support"],
    "freshworks": ["support", "crm"],
    "gitlab": ["developer-tools", "devops"],
    "godaddy": ["hosting"],
    "heroku": ["cloud", "hosting"],
    "ibm-cloud": ["cloud"],
    "jira": ["developer-tools", "productivity"],
    "linkedin": ["social"],
    "mailgun": ["email"],
    "microsoft-365": ["productivity", "email"],
    "mimecast": ["email", "security"],
    "netflix": ["media"],
    "okta": ["identity", "security"],
    "oracle-cloud": ["cloud"],
    "paypal": ["payments"],
    "postmark": ["email"],
    "quickbooks": ["finance"],
    "ringcentral": ["communication"],
    "salesforce": ["crm"],
    "sendbird": ["communication", "api"],
    "servicenow": ["support", "productivity"],
    "slack": ["communication"],
    "spotify": ["media"],
    "stripe": ["payments"],
    "teamviewer": ["productivity"],
    "trello": ["productivity"],
    "vonage": ["communication", "api"],
    "wix": ["cms", "hosting"],
    "xero": ["finance"],
    "zendesk": ["support"],
    "zoho": ["crm", "productivity"],
}

# Status.io page ids are 24 hex digits; a URL cannot be guessed to one.
STATUSIO_API = re.compile(r"^https://api\.status\.io/1\.0/status/([0-9a-f]{24})$")
# Probe notes that mean the host name does not resolve (the only strong "gone" evidence).
DNS_FAILURE = re.compile(
    r"Name or service not known|No address associated with hostname|"
    r"Temporary failure in name resolution|nodename nor servname",
)
# Trailing words some sources add to a vendor's name ("Adobe System Status").
STATUS_SUFFIX = re.compile(
    r"\s*[-–:]?\s*(?:(?:system|platform|service|services|api)\s+)?status(?:\s+page)?$", re.I
)


def normalise_url(url: str) -> str:
    """The data set's URL key: lowercased host without www., path without trailing slashes,
    no scheme, query or fragment. Two spellings of one page give the same key."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/#")
    return host + path


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def https(url: str) -> str:
    """The page URL in https (every page worth watching serves it; the catalog test insists),
    without a trailing slash, query or fragment."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    return f"https://{host}{port}{parts.path.rstrip('/')}"


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    stripped = STATUS_SUFFIX.sub("", name).strip()
    return stripped or name


def slug(text: str) -> str:
    """[a-z0-9-]+ from a name: accents dropped, "&" and "+" spelled out, everything else a dash."""
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )
    ascii_text = ascii_text.replace("&", " and ").replace("+", " plus ")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def words_of(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def fail(message: str) -> None:
    print(f"generate.py: {message}", file=sys.stderr)
    sys.exit(1)


class SourceIndex:
    """One per-source file, indexed by normalised URL (and by name for the probe's file)."""

    def __init__(self, rows: list[dict], url_fields: list[str], alias_field: str | None = None):
        self.by_url: dict[str, list[dict]] = collections.defaultdict(list)
        self.by_host_name: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
        for row in rows:
            urls = [row[f] for f in url_fields if row.get(f)]
            if alias_field:
                urls += row.get(alias_field) or []
            for url in urls:
                self.by_url[normalise_url(url)].append(row)
                self.by_host_name[(host_of(url), row.get("name", "").lower())].append(row)

    def rows_for(self, line: dict) -> list[dict]:
        found: list[dict] = []
        for url in [line["url"], *line.get("aliases", [])]:
            for row in self.by_url.get(normalise_url(url), []):
                if row not in found:
                    found.append(row)
        if not found:
            # vendor-status-watch often reduced a URL to its host; match those by host and name.
            for row in self.by_host_name.get((host_of(line["url"]), line["name"].lower()), []):
                if row not in found:
                    found.append(row)
        return found


def load_sources(data: Path) -> dict[str, SourceIndex]:
    return {
        "stts": SourceIndex(read_jsonl(data / "stts.jsonl"), ["url"]),
        "vendor-status-watch": SourceIndex(
            read_jsonl(data / "vendor-status-watch.jsonl"), ["base"], "aliases"
        ),
        "statuscraft": SourceIndex(read_jsonl(data / "statuscraft.jsonl"), ["page_url"]),
        "awesome-status-pages": SourceIndex(read_jsonl(data / "awesome-status-pages.jsonl"), ["url"]),
        "statusphere": SourceIndex(read_jsonl(data / "statusphere.jsonl"), ["url"]),
    }


STTS_PLATFORM = {
    "statuspage": "statuspage", "sendbird": "statuspage", "statusiov1": "statusio",
    "betteruptime": "betterstack", "sorry": "sorryapp", "miro": "custom",
}
PROBE_PLATFORM = {"status.io": "statusio", "incident.io": "incidentio", "bespoke": "custom"}


def platform_of(line: dict, rows: dict[str, list[dict]], statusio_id: str | None) -> tuple[str, str]:
    """(catalog platform, why). Only hand-kept sources (stts), the 2026-09 probe and the page's
    host count as evidence; statuscraft's type alone is a pattern guess."""
    evidence = set()
    for row in rows["stts"]:
        evidence.add(STTS_PLATFORM.get(row["platform"], row["platform"]))
    for row in rows["vendor-status-watch"]:
        if row["platform"] not in ("dead", "unknown-html"):
            evidence.add(PROBE_PLATFORM.get(row["platform"], row["platform"]))
    host = host_of(line["url"])
    if host.endswith(".statuspage.io") or host.endswith(".status.atlassian.com"):
        evidence.add("statuspage")
    elif host.endswith(".instatus.com"):
        evidence.add("instatus")
    elif host.endswith(".betteruptime.com"):
        evidence.add("betterstack")
    if len(evidence) > 1:
        return "auto", "contradictory"
    if not evidence:
        return "auto", "no evidence"
    (found,) = evidence
    if found == "statusio":
        return ("statusio", "status.io page id") if statusio_id else ("auto", "no status.io id")
    if found == "statuspal":
        parts = urlsplit(line["url"])
        on_statuspal = host_of(line["url"]) == "statuspal.io" and parts.path.startswith("/p/")
        return ("statuspal", "statuspal") if on_statuspal else ("auto", "statuspal custom domain")
    if found in PLATFORM_FROM_DATA:
        return PLATFORM_FROM_DATA[found], "agreed"
    return "auto", f"no reader for {found}"


def tags_for(entry_id: str, name: str, url: str, statuscraft_tags: list[str], sections: list[str]) -> list[str]:
    if entry_id in TAG_OVERRIDES:
        return TAG_OVERRIDES[entry_id]
    tags: list[str] = []

    def add(tag: str) -> None:
        if tag in VOCABULARY and tag not in tags and tag != FALLBACK_TAG:
            tags.append(tag)

    for source_tag in statuscraft_tags:
        add(STATUSCRAFT_TAG_TO_VOCABULARY.get(source_tag, ""))
    if "Hosting and Cloud" in sections:
        add("hosting")
    if not tags:
        host_labels = host_of(url).split(".")
        words = set(words_of(name)) | set(host_labels) - {"status", "www", "com", "io", "net"}
        joined = " ".join([name.lower(), *host_labels])
        for tag, keywords in KEYWORD_WORDS.items():
            if words & set(keywords):
                add(tag)
        for tag, stems in KEYWORD_STEMS.items():
            if any(stem in joined for stem in stems):
                add(tag)
        if host_labels and host_labels[-1] == "ai":
            add("ai")
    return tags[:MAX_TAGS] or [FALLBACK_TAG]


def statuscraft_only_corroboration(line: dict, statuscraft_rows: list[dict], curated_keys: set[str]) -> str | None:
    """Why a page only statuscraft lists may be kept, or None. Statuscraft generated most of its
    URLs from `status.<vendor>.<tld>` and `<vendor>.statuspage.io`; no other source or probe
    looked at these pages. A page is kept when something beyond that pattern backs it:
    - the hand-written catalog lists the same page;
    - statuscraft polls it through a status.io page id (24 hex digits nobody guesses);
    - its host is not one the patterns produce from the vendor's name (e.g. www.zoomstatus.com,
      trust.clari.com): somebody looked that URL up rather than generating it."""
    if normalise_url(line["url"]) in curated_keys:
        return "curated"
    if any(STATUSIO_API.match(row.get("status_url", "")) for row in statuscraft_rows):
        return "status.io page id"
    host = host_of(line["url"])
    labels = host.split(".")
    if host.endswith(".statuspage.io"):
        return None
    if labels[0] == "status" and len(labels) >= 3:
        return None
    return "specific host"


def load_curated() -> list[dict]:
    try:
        with CURATED.open("rb") as file:
            return tomllib.load(file)["provider"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        fail(f"{CURATED}: {error}")
        return []


def load_verify(path: Path | None) -> list[dict]:
    if path is None:
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        fail(f"{path}: {error}")
    rows = document.get("entries", []) if isinstance(document, dict) else document
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r for r in rows):
        fail(f"{path}: expected a list of objects with an \"id\" (or {{\"entries\": [...]}})")
    return [from_verdict(row) for row in rows]


def from_verdict(row: dict) -> dict:
    """`statusrelay catalog verify --json` prints verdicts (`outcome`, `redirects_to`,
    `detected_platform`); they are read as the fields above. A page that answers but reads as no
    status page (`unreadable`) confirms nothing."""
    if "outcome" not in row:
        return row
    outcome = row.get("outcome")
    return {
        "id": row["id"],
        "dead": outcome == "dead",
        "moved_to": row.get("redirects_to"),
        "platform_detected": row.get("detected_platform"),
        "reachable": outcome in ("ok", "platform_changed", "moved"),
    }


def unique_id(base: str, url: str, taken: set[str]) -> str:
    """`base` if free, else base plus the URL's distinguishing words (host labels and path not
    already in the base), else a number: stable for a given page."""
    if base not in taken:
        return base
    parts = urlsplit(url)
    noise = {"status", "www", "com", "io", "net", "org", "statuspage", "co", "app", "page"}
    extra = [
        w for w in words_of(parts.hostname or "") + words_of(parts.path)
        if w not in noise and w not in base.split("-")
    ]
    candidate = "-".join([base, *extra])[:60].strip("-")
    if candidate not in taken:
        return candidate
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string for the characters catalog text holds.
    return json.dumps(text, ensure_ascii=False)


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(toml_string(i) for i in items) + "]"


def render(entries: list[dict]) -> str:
    out = [
        "# GENERATED by scripts/catalog/generate.py from catalog/curated.toml (hand-written, wins",
        "# every conflict) and the public status-page lists credited in catalog/THIRD_PARTY.md.",
        "# Do not edit: change curated.toml or the generator and re-run it (see README, Catalog).",
        "# `platform = \"auto\"`: detected on the first poll. `unverified = true`: no hand-kept list",
        "# or probe confirmed the page (or the probe was blocked); check it before relying on it.",
        "",
    ]
    for entry in entries:
        out.append("[[provider]]")
        out.append(f"id = {toml_string(entry['id'])}")
        out.append(f"name = {toml_string(entry['name'])}")
        out.append(f"url = {toml_string(entry['url'])}")
        out.append(f"platform = {toml_string(entry['platform'])}")
        out.append(f"tags = {toml_list(entry['tags'])}")
        if entry["aliases"]:
            out.append(f"aliases = {toml_list(entry['aliases'])}")
        out.append(f"sources = {toml_list(entry['sources'])}")
        if entry["unverified"]:
            out.append("unverified = true")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the status-pages data folder")
    parser.add_argument("--verify-json", type=Path, help="`catalog verify --json` output to apply")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    verify_path = args.verify_json or (DEFAULT_VERIFY if DEFAULT_VERIFY.exists() else None)

    try:
        merged = read_jsonl(args.data / "merged.jsonl")
        sources = load_sources(args.data)
    except (OSError, ValueError) as error:
        fail(f"cannot read the data folder {args.data}: {error}")
    curated = load_curated()
    verify_rows = load_verify(verify_path)
    stats: collections.Counter = collections.Counter()

    entries: dict[str, dict] = {}
    by_key: dict[str, str] = {}  # normalised URL -> id
    by_host: dict[str, list[str]] = collections.defaultdict(list)
    for item in curated:
        entry = {
            "id": item["id"], "name": item["name"], "url": item["url"],
            "platform": item["platform"], "tags": list(item["tags"]),
            "aliases": [], "sources": {CURATED_SOURCE}, "unverified": False,
        }
        entries[entry["id"]] = entry
        by_key[normalise_url(entry["url"])] = entry["id"]
        by_host[host_of(entry["url"])].append(entry["id"])
    curated_keys = set(by_key)
    curated_by_name = {slug(clean_name(e["name"])): e["id"] for e in entries.values()}

    def curated_match(line: dict) -> str | None:
        """The curated entry for a data line: same page, or same host with one path inside
        the other (Azure's feed under its status page), or the same vendor name."""
        for url in [line["url"], *line.get("aliases", [])]:
            if normalise_url(url) in by_key:
                return by_key[normalise_url(url)]
        key = normalise_url(line["url"])
        for entry_id in by_host.get(host_of(line["url"]), []):
            other = normalise_url(entries[entry_id]["url"])
            if other.startswith(key) or key.startswith(other):
                return entry_id
        return curated_by_name.get(slug(clean_name(line["name"])))

    # Candidates from the data, before ids are assigned.
    candidates = []
    for line in merged:
        rows = {name: index.rows_for(line) for name, index in sources.items()}
        probe_notes = [r.get("note", "") for r in rows["vendor-status-watch"] if r["platform"] == "dead"]
        dead_by_dns = line.get("dead") and any(DNS_FAILURE.search(n) for n in probe_notes)
        if line.get("dead") and not probe_notes:
            # Marked dead but the probe row was not found here: treat it as a blocked probe.
            probe_notes = ["dead"]
        curated_id = curated_match(line)
        if curated_id:
            entry = entries[curated_id]
            entry["sources"].update(line["sources"])
            for url in [line["url"], *line.get("aliases", [])]:
                if normalise_url(url) != normalise_url(entry["url"]):
                    entry["aliases"].append(https(url))
            if clean_name(line["name"]).lower() != entry["name"].lower():
                entry["aliases"].append(clean_name(line["name"]))
            if line.get("dead") and normalise_url(line["url"]) == normalise_url(entry["url"]):
                # Ours win, but a page the probe could not reach is flagged, not hidden.
                entry["unverified"] = True
                stats["curated marked unverified by the probe"] += 1
            stats["data lines folded into curated entries"] += 1
            continue
        if dead_by_dns:
            stats["left out: dead by DNS failure"] += 1
            continue
        statuscraft_only = line["sources"] == ["statuscraft"]
        reason = None
        if statuscraft_only:
            reason = statuscraft_only_corroboration(line, rows["statuscraft"], curated_keys)
            if reason is None:
                stats["left out: statuscraft only, uncorroborated"] += 1
                continue
        statusio_id = line.get("statusio_id")
        for row in rows["statuscraft"]:
            found = STATUSIO_API.match(row.get("status_url", ""))
            if found and not statusio_id:
                statusio_id = found.group(1)
        platform, platform_why = platform_of(line, rows, statusio_id)
        stats[f"platform {platform}: {platform_why}"] += 1
        url = https(line["url"])
        aliases = [https(u) for u in line.get("aliases", [])]
        if platform == "statusio":
            # statusrelay reads status.io through its API document; keep the page as an alias.
            aliases.insert(0, url)
            url = f"https://api.status.io/1.0/status/{statusio_id}"
        name = clean_name(line["name"])
        other_names = []
        for source_rows in rows.values():
            for row in source_rows:
                other = clean_name(row.get("name", ""))
                if other and other.lower() != name.lower() and other.lower() not in (n.lower() for n in other_names):
                    other_names.append(other)
        statuscraft_tags = [t for row in rows["statuscraft"] for t in row.get("tags", [])]
        sections = [row.get("section", "") for row in rows["awesome-status-pages"]]
        candidates.append({
            "base_id": slug(name) or slug(host_of(line["url"])),
            "name": name, "url": url, "platform": platform,
            "aliases": other_names + aliases,
            "sources": set(line["sources"]),
            "unverified": bool(statuscraft_only or probe_notes),
            "statuscraft_only_reason": reason,
            "statuscraft_tags": statuscraft_tags, "sections": sections,
        })

    # Several lines can share a vendor name. A statuscraft-only line beside a better-sourced
    # one of the same name is a second, guessed URL for that vendor: dropped. Otherwise the
    # best-sourced line keeps the plain id and the others get their URL's words appended.
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for candidate in candidates:
        groups[candidate["base_id"]].append(candidate)
    taken = set(entries)
    for base_id in sorted(groups):
        group = groups[base_id]
        if any(c["statuscraft_only_reason"] is None for c in group) or base_id in curated_by_name:
            kept = [c for c in group if c["statuscraft_only_reason"] is None]
            stats["left out: statuscraft-only second URL of a listed vendor"] += len(group) - len(kept)
            group = kept
        group.sort(key=lambda c: (c["unverified"], -len(c["sources"]), len(c["url"]), c["url"]))
        for candidate in group:
            entry_id = unique_id(base_id, candidate["url"], taken)
            taken.add(entry_id)
            if candidate["statuscraft_only_reason"]:
                stats[f"kept statuscraft-only: {candidate['statuscraft_only_reason']}"] += 1
            entries[entry_id] = {
                "id": entry_id, "name": candidate["name"], "url": candidate["url"],
                "platform": candidate["platform"],
                "tags": tags_for(entry_id, candidate["name"], candidate["url"],
                                 candidate["statuscraft_tags"], candidate["sections"]),
                "aliases": candidate["aliases"], "sources": candidate["sources"],
                "unverified": candidate["unverified"],
            }

    for row in verify_rows:
        entry = entries.get(str(row.get("id")))
        if entry is None:
            print(f"generate.py: verify: no entry {row.get('id')!r}, skipped", file=sys.stderr)
            continue
        is_curated = CURATED_SOURCE in entry["sources"]
        if row.get("dead") is True:
            if is_curated:
                entry["unverified"] = True
            else:
                del entries[entry["id"]]
            stats["verify: dead"] += 1
            continue
        moved = row.get("moved_to")
        if isinstance(moved, str) and moved.startswith("https://"):
            entry["aliases"].insert(0, entry["url"])
            entry["url"] = https(moved)
            stats["verify: moved"] += 1
        detected = row.get("platform_detected")
        if detected in KNOWN_PLATFORMS and detected != "auto":
            entry["platform"] = detected
        if row.get("reachable") is True:
            entry["unverified"] = False
            stats["verify: confirmed"] += 1

    # Two lines can still end on one URL (a curated page's alias that is another line's page);
    # the first by id keeps it.
    seen_urls: set[str] = set()
    output = []
    for entry_id in sorted(entries):
        entry = entries[entry_id]
        key = normalise_url(entry["url"])
        if key in seen_urls:
            stats["left out: URL already in the catalog"] += 1
            continue
        seen_urls.add(key)
        aliases = []
        for alias in entry["aliases"]:
            if alias and alias != entry["url"] and alias not in aliases and alias != entry["name"]:
                aliases.append(alias)
        entry["aliases"] = aliases
        order = [CURATED_SOURCE, *DATA_SOURCES]
        entry["sources"] = sorted(entry["sources"], key=order.index)
        output.append(entry)

    text = render(output)
    args.output.write_text(text, encoding="utf-8")

    by_platform = collections.Counter(e["platform"] for e in output)
    by_source = collections.Counter(s for e in output for s in e["sources"])
    by_tag = collections.Counter(t for e in output for t in e["tags"])
    summary = {
        "entries": len(output),
        "unverified": sum(e["unverified"] for e in output),
        "by platform": dict(sorted(by_platform.items())),
        "by source": dict(sorted(by_source.items())),
        "fallback tag only": by_tag[FALLBACK_TAG],
        "decisions": dict(sorted(stats.items())),
        "verify file": str(verify_path) if verify_path else None,
    }
    print(json.dumps(summary, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
