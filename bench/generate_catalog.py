#!/usr/bin/env python3
"""Writes a realistic, deterministic organisation as Backstage descriptor files, for benchmarks.

    python3 bench/generate_catalog.py --services N --out DIR [--seed S]
    python3 bench/generate_catalog.py --modify K --out DIR [--seed S]

The first form writes, for N services:

    DIR/all.yaml                          Location: ./org.yaml, ./systems.yaml, ./apis/*.yaml, ./components/*/*.yaml
    DIR/org.yaml                          Groups (one root, a few departments, ~N/150 teams) and ~N/5 Users
    DIR/systems.yaml                      N/500+1 Domains and N/50+1 Systems
    DIR/apis/<team>.yaml                  N/4 APIs, one multi-document file per owning team
    DIR/components/<team>/<name>.yaml     N Components, one document per file
    DIR/slo-sources.yaml                  the OpenSLO DataSource the SLOs' events are pushed to
    DIR/slos/<team>/<service>.yaml        SLOs of about a fifth of the services (OpenSLO, a tenth in Sloth's format)
    DIR/scorecards/*.yaml                 three portolan.dev/v1 Scorecards (readiness, SLOs, documentation)
    DIR/sli-history.jsonl                 30 days of SLI history per SLO, for `portolan slo import` (not ingested)
    DIR/.portolan-bench.json              counts, sample entities and SLOs (not a descriptor; not ingested)

and prints the counts by kind. Every reference points at a generated entity; names match
^[a-z0-9]+(-[a-z0-9]+)*$ and are at most 63 characters; the output depends only on N and the seed.

The SLI history is written as the store keeps it: one count per hour for the older days (the store rolls minutes
up into hours after a day) and one per minute for the last 24 hours, ending at --history-end (default: this minute).
Most SLOs are steady and healthy; a few burn, are at risk, or have spent their budget.

The second form rewrites the description of K existing component files (a partial refresh). Each run bumps a
revision counter in the description, so running it again always changes the files it picks.

Python 3 standard library only; YAML is written as text (names are plain scalars, free text is double-quoted).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

API_VERSION = "backstage.io/v1alpha1"
MARKER = ".portolan-bench.json"
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# The default catalog.max_file_bytes; a bigger file would be refused by ingest.
MAX_FILE_BYTES = 4 * 1024 * 1024
# The share of services with SLOs, the DataSource their events are pushed to, and how much history they get.
SLO_SHARE = 0.2
PUSH_SOURCE = "bench-push"
HISTORY_DAYS = 30
HISTORY_FILE = "sli-history.jsonl"

DEPARTMENTS = [
    "commerce", "payments", "platform", "data", "growth", "infrastructure", "security", "mobile",
    "logistics", "marketing", "finance", "support", "identity", "media", "partners", "operations",
]
# Business words for team, system, domain and component names. No word contains "location": files that mention it
# are read twice by ingest's first pass, which would skew the figures.
WORDS = [
    "payments", "checkout", "billing", "orders", "inventory", "search", "catalog", "pricing", "shipping",
    "accounts", "auth", "identity", "notifications", "email", "ledger", "fraud", "risk", "reporting",
    "analytics", "recommendations", "reviews", "cart", "loyalty", "promotions", "tax", "invoices", "refunds",
    "subscriptions", "gateway", "profile", "media", "images", "routing", "scheduler", "audit", "events",
    "metrics", "onboarding", "support", "chat", "feeds", "settlement", "wallet", "coupons", "warehouse",
    "fulfilment", "returns", "customers", "sessions", "consent", "documents", "exports", "imports",
    "pipelines", "ingest", "storage", "cache", "config", "flags", "experiments", "ads", "partners",
]
# Free text for descriptions (a few words each).
DESCRIPTION_WORDS = [
    "handles", "stores", "serves", "validates", "aggregates", "publishes", "consumes", "reconciles",
    "computes", "tracks", "exports", "schedules", "caches", "indexes", "payments", "orders", "customers",
    "invoices", "events", "reports", "requests", "sessions", "tokens", "ledgers", "prices", "refunds",
    "shipments", "reviews", "messages", "metrics", "documents", "images", "batches", "streams", "webhooks",
    "quickly", "reliably", "nightly", "in real time", "for partners", "for the storefront", "for mobile apps",
    "across regions", "with retries", "idempotently", "legacy", "internal", "public", "regulated", "critical",
]
TAGS = ["rust", "go", "java", "python", "kotlin", "typescript", "grpc", "rest", "graphql", "postgres",
        "mysql", "redis", "kafka", "s3", "pci", "gdpr", "frontend", "batch"]
FIRST_NAMES = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "nina",
    "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yara",
    "zoe", "amir", "bea", "chen", "dmitri", "elif", "fatima", "goran", "hana", "ines", "jonas", "kemal",
    "lena", "mateo", "noor", "olga", "priya", "ravi", "sofia", "tomas", "uma", "vera", "wei", "yusuf",
]
LAST_NAMES = [
    "smith", "jones", "garcia", "muller", "rossi", "dubois", "kowalski", "nguyen", "tanaka", "kim", "singh",
    "silva", "novak", "hansen", "jensen", "ivanova", "cohen", "okafor", "mensah", "haddad", "yilmaz",
    "fischer", "martin", "bernard", "lopez", "costa", "petrov", "larsen", "berg", "wong", "patel", "khan",
]
# A few words YAML (1.1 or 1.2) would read as something other than a string if left plain.
YAML_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
PLAIN_RE = re.compile(r"^[a-z][a-z0-9._:/-]*$")


def scalar(value: str) -> str:
    """A YAML scalar for a string: plain when unmistakable, else double-quoted (a JSON string is valid YAML)."""
    if PLAIN_RE.match(value) and value not in YAML_SPECIAL and ": " not in value:
        return value
    return json.dumps(value)


def flow_list(values: list[str]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def block_list(out: list[str], indent: str, key: str, values: list[str]) -> None:
    """Appends `key:` and one `- item` line per value; an empty list is written `key: []`."""
    if not values:
        out.append(f"{indent}{key}: []")
        return
    out.append(f"{indent}{key}:")
    out.extend(f"{indent}  - {scalar(v)}" for v in values)


def check_name(name: str) -> str:
    if len(name) > 63 or not NAME_RE.match(name):
        raise SystemExit(f"internal error: generated an invalid name `{name}`")
    return name


def header(kind: str, name: str) -> list[str]:
    return [f"apiVersion: {API_VERSION}", f"kind: {kind}", "metadata:", f"  name: {scalar(check_name(name))}"]


def sentence(rng: random.Random, count: int) -> str:
    words = rng.sample(DESCRIPTION_WORDS, count)
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


class Org:
    """The whole organisation in memory; written out afterwards."""

    def __init__(self, services: int, seed: int):
        self.n = services
        self.rng = random.Random(seed)
        rng = self.rng

        # Groups: one root, a few departments, ~N/150 teams.
        team_count = max(2, services // 150)
        dept_count = max(2, min(len(DEPARTMENTS), round((team_count ** 0.5) / 2)))
        self.root = "acme"
        self.departments = [f"dept-{DEPARTMENTS[i]}" for i in range(dept_count)]
        width = len(str(team_count))
        self.teams: list[str] = []
        self.team_dept: dict[str, str] = {}
        self.dept_teams: dict[str, list[str]] = {d: [] for d in self.departments}
        for i in range(team_count):
            team = f"team-{i + 1:0{width}d}-{WORDS[i % len(WORDS)]}"
            dept = self.departments[i % dept_count]
            self.teams.append(team)
            self.team_dept[team] = dept
            self.dept_teams[dept].append(team)

        # Users: ~N/5, each a member of one team; every team gets at least one.
        user_count = max(team_count, services // 5)
        width = max(5, len(str(user_count)))
        self.users: list[tuple[str, str, str, str]] = []  # name, display name, email, team
        for i in range(user_count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = f"{first}-{last}-{i + 1:0{width}d}"
            team = self.teams[i] if i < team_count else rng.choice(self.teams)
            self.users.append((name, f"{first.title()} {last.title()}", f"{first}.{last}.{i + 1}@example.com", team))

        # Domains (owned by departments) and systems (owned by teams, in a domain of the team's department).
        domain_count = services // 500 + 1
        width = max(2, len(str(domain_count)))
        self.domains: list[tuple[str, str, str]] = []  # name, owner, description
        dept_domains: dict[str, list[str]] = {d: [] for d in self.departments}
        for i in range(domain_count):
            dept = self.departments[i % dept_count]
            name = f"domain-{i + 1:0{width}d}-{WORDS[(i * 7) % len(WORDS)]}"
            self.domains.append((name, dept, sentence(rng, 3)))
            dept_domains[dept].append(name)
        all_domains = [d[0] for d in self.domains]

        system_count = services // 50 + 1
        width = max(4, len(str(system_count)))
        self.systems: list[tuple[str, str, str, str]] = []  # name, owner, domain, description
        self.team_systems: dict[str, list[str]] = {t: [] for t in self.teams}
        for i in range(system_count):
            team = self.teams[i % team_count]
            candidates = dept_domains[self.team_dept[team]] or all_domains
            name = f"sys-{i + 1:0{width}d}-{WORDS[(i * 3 + 5) % len(WORDS)]}"
            self.systems.append((name, team, rng.choice(candidates), sentence(rng, 4)))
            self.team_systems[team].append(name)
        # With very few services there are fewer systems than teams; those teams use any system.
        all_systems = [s[0] for s in self.systems]

        # Components. Teams differ in size (a heavy-tailed weight per team, capped at 10× the smallest).
        team_weights = [min(rng.paretovariate(1.5), 10.0) for _ in self.teams]
        width = max(5, len(str(services)))
        self.components: list[dict] = []
        self.team_components: dict[str, list[int]] = {t: [] for t in self.teams}
        for i in range(services):
            roll = rng.random()
            ctype, prefix = ("service", "svc") if roll < 0.8 else ("website", "web") if roll < 0.9 else ("library", "lib")
            team = rng.choices(self.teams, team_weights)[0]
            word = rng.choice(WORDS)
            roll = rng.random()
            lifecycle = "production" if roll < 0.7 else "experimental" if roll < 0.9 else "deprecated"
            tags = sorted(rng.sample(TAGS, rng.randint(1, 3)))
            description = f"{word.title()} {ctype}: {sentence(rng, rng.randint(3, 6)).lower()}"
            # Dependencies point at earlier components, mostly of the same team: a realistic, acyclic graph.
            deps: list[int] = []
            if i > 0:
                own = self.team_components[team]
                for _ in range(rng.randint(0, 4)):
                    j = rng.choice(own) if own and rng.random() < 0.6 else rng.randrange(i)
                    if j not in deps:
                        deps.append(j)
            self.components.append({
                "name": f"{prefix}-{i + 1:0{width}d}-{word}",
                "type": ctype,
                "lifecycle": lifecycle,
                "owner": team,
                "system": rng.choice(self.team_systems[team] or all_systems),
                "description": description,
                "tags": tags,
                "runbook": rng.random() < 0.85,
                "dashboard": rng.random() < 0.3,
                "deps": deps,
                "provides": [],
                "consumes": [],
            })
            self.team_components[team].append(i)

        # APIs: N/4, each provided by one component (services preferably) and owned by its team.
        api_count = services // 4
        width = max(5, len(str(api_count)))
        providers = [i for i, c in enumerate(self.components) if c["type"] == "service"] or list(range(services))
        self.apis: list[dict] = []
        for i in range(api_count):
            provider = self.components[rng.choice(providers)]
            name = f"api-{i + 1:0{width}d}-{rng.choice(WORDS)}"
            provider["provides"].append(name)
            self.apis.append({
                "name": name,
                "owner": provider["owner"],
                "lifecycle": provider["lifecycle"],
                "system": provider["system"],
                "description": f"{name.split('-')[-1].title()} API: {sentence(rng, 3).lower()}",
                "tags": sorted(rng.sample(["rest", "grpc", "graphql", "public", "internal"], rng.randint(1, 2))),
            })
        if self.apis:
            for c in self.components:
                for _ in range(rng.randint(0, 3)):
                    api = rng.choice(self.apis)["name"]
                    if api not in c["consumes"] and api not in c["provides"]:
                        c["consumes"].append(api)

        # SLOs: about a fifth of the services, each an availability SLO (a ratio of requests), three in ten also a
        # latency SLO (a threshold); a tenth of the files in Sloth's format. Targets as teams choose them.
        self.slos: list[dict] = []  # name, service, owner, kind, target, days, sloth
        self.service_slos: dict[str, list[str]] = {}
        for c in self.components:
            if c["type"] != "service" or rng.random() >= SLO_SHARE:
                continue
            sloth = rng.random() < 0.1
            days = rng.choice([28, 30]) if not sloth else 30
            names = []
            for kind in ["availability"] + (["latency"] if rng.random() < 0.3 else []):
                target = rng.choice([0.99, 0.995, 0.999, 0.9995] if kind == "availability" else [0.95, 0.99, 0.995])
                name = f"{c['name']}-{kind}" if not sloth else f"{c['name']}-requests-{kind}"
                self.slos.append({"name": check_name(name), "service": c["name"], "owner": c["owner"],
                                  "kind": kind, "target": target, "days": days, "sloth": sloth,
                                  "threshold": rng.choice([100, 250, 500, 800])})
                names.append(name)
            self.service_slos[c["name"]] = names

    def sample_component(self) -> str:
        """A production service with many relations: a representative service page."""
        best = max(
            (c for c in self.components if c["lifecycle"] == "production" and c["type"] == "service"),
            key=lambda c: (len(c["deps"]) + len(c["provides"]) + len(c["consumes"]), c["name"]),
            default=self.components[0],
        )
        return best["name"]

    def sample_slo_component(self) -> str:
        """The service with the most SLOs (then the most relations): an SLO-heavy service page."""
        if not self.service_slos:
            return self.sample_component()
        by_name = {c["name"]: c for c in self.components}
        return max(self.service_slos, key=lambda n: (len(self.service_slos[n]),
                   len(by_name[n]["deps"]) + len(by_name[n]["provides"]) + len(by_name[n]["consumes"]), n))

    def largest_team(self) -> str:
        return max(self.teams, key=lambda t: (len(self.team_components[t]), t))

    def largest_system(self) -> str:
        counts: dict[str, int] = {}
        for c in self.components:
            counts[c["system"]] = counts.get(c["system"], 0) + 1
        return max(counts, key=lambda s: (counts[s], s))

    def hub_component(self) -> str:
        """The component most others depend on: the widest dependency graph."""
        dependents = [0] * len(self.components)
        for c in self.components:
            for j in c["deps"]:
                dependents[j] += 1
        return self.components[max(range(len(self.components)), key=lambda i: (dependents[i], -i))]["name"]

    # -- writing -------------------------------------------------------------------------------------------------

    def org_yaml(self) -> str:
        docs = []
        out = header("Group", self.root)
        out += ["  description: \"The whole company.\"", "spec:", "  type: organization"]
        out += ["  profile:", f"    displayName: {scalar('ACME Corporation')}", "    email: everyone@example.com"]
        block_list(out, "  ", "children", self.departments)
        docs.append(out)
        for dept in self.departments:
            title = dept.removeprefix("dept-").title()
            out = header("Group", dept)
            out += [f"  description: {scalar(title + ' department.')}", "spec:", "  type: department"]
            out += [f"  parent: {scalar(self.root)}", "  profile:", f"    displayName: {scalar(title)}"]
            block_list(out, "  ", "children", self.dept_teams[dept])
            docs.append(out)
        for team in self.teams:
            words = team.split("-")
            title = f"{words[-1].title()} team {int(words[1])}"
            out = header("Group", team)
            out += ["spec:", "  type: team", f"  parent: {scalar(self.team_dept[team])}", "  profile:"]
            out += [f"    displayName: {scalar(title)}", f"    email: {scalar(team + '@example.com')}"]
            out.append("  children: []")
            docs.append(out)
        for name, display, email, team in self.users:
            out = header("User", name)
            out += ["spec:", "  profile:", f"    displayName: {scalar(display)}", f"    email: {scalar(email)}"]
            out.append(f"  memberOf: {flow_list([team])}")
            docs.append(out)
        return join_documents(docs)

    def systems_yaml(self) -> str:
        docs = []
        for name, owner, description in self.domains:
            out = header("Domain", name)
            out += [f"  description: {json.dumps(description)}", "spec:", f"  owner: {scalar(owner)}"]
            docs.append(out)
        for name, owner, domain, description in self.systems:
            out = header("System", name)
            out += [f"  description: {json.dumps(description)}", "spec:", f"  owner: {scalar(owner)}"]
            out.append(f"  domain: {scalar(domain)}")
            docs.append(out)
        return join_documents(docs)

    def api_files(self) -> dict[str, str]:
        by_team: dict[str, list[list[str]]] = {}
        for api in self.apis:
            name = api["name"]
            out = header("API", name)
            out += [f"  description: {json.dumps(api['description'])}", f"  tags: {flow_list(api['tags'])}"]
            out += ["spec:", "  type: openapi", f"  lifecycle: {api['lifecycle']}", f"  owner: {scalar(api['owner'])}"]
            out.append(f"  system: {scalar(api['system'])}")
            out += ["  definition: |", "    openapi: 3.0.3", f"    info: {{title: {name}, version: 1.0.0}}",
                    "    paths: {}"]
            by_team.setdefault(api["owner"], []).append(out)
        return {team: join_documents(docs) for team, docs in by_team.items()}

    def component_yaml(self, c: dict) -> str:
        out = header("Component", c["name"])
        out.append(f"  description: {json.dumps(c['description'])}")
        out.append(f"  tags: {flow_list(c['tags'])}")
        links = []
        if c["runbook"]:
            links.append((f"https://runbooks.example.com/{c['name']}", "Runbook", "runbook"))
        if c["dashboard"]:
            links.append((f"https://grafana.example.com/d/{c['name']}", "Dashboard", "dashboard"))
        if links:
            out.append("  links:")
            for url, title, kind in links:
                out += [f"    - url: {json.dumps(url)}", f"      title: {title}", f"      type: {kind}"]
        out += ["spec:", f"  type: {c['type']}", f"  lifecycle: {c['lifecycle']}", f"  owner: {scalar(c['owner'])}"]
        out.append(f"  system: {scalar(c['system'])}")
        if c["deps"]:
            block_list(out, "  ", "dependsOn", [f"component:{self.components[j]['name']}" for j in c["deps"]])
        if c["provides"]:
            block_list(out, "  ", "providesApis", c["provides"])
        if c["consumes"]:
            block_list(out, "  ", "consumesApis", c["consumes"])
        return "\n".join(out) + "\n"

    def slo_files(self) -> dict[str, str]:
        """One file per service with SLOs: OpenSLO documents, or one Sloth prometheus/v1 document."""
        by_service: dict[str, list[dict]] = {}
        for slo in self.slos:
            by_service.setdefault(slo["service"], []).append(slo)
        files = {}
        for service, slos in by_service.items():
            owner = slos[0]["owner"]
            if slos[0]["sloth"]:
                out = ['version: "prometheus/v1"', f"service: {scalar(service)}", "labels:",
                       f"  owner: {scalar(owner)}", "slos:"]
                for slo in slos:
                    kind = slo["kind"]
                    metric = "http_requests_total" if kind == "availability" else "http_request_duration_seconds_count"
                    bad = '{code=~"5.."}' if kind == "availability" else '{le="%s"}' % (slo["threshold"] / 1000)
                    out += [f"  - name: {scalar('requests-' + kind)}",
                            f"    objective: {round(slo['target'] * 100, 3)}",
                            f"    description: {json.dumps(f'{service} requests ({kind}).')}",
                            "    sli:", "      events:",
                            f"        error_query: {json.dumps(f'sum(rate({metric}{bad}[{{{{.window}}}}]))')}",
                            f"        total_query: {json.dumps(f'sum(rate({metric}[{{{{.window}}}}]))')}",
                            "    alerting:", f"      name: {scalar(service + '-' + kind)}",
                            "      page_alert:", "        labels:", "          severity: page",
                            "      ticket_alert:", "        labels:", "          severity: ticket"]
                files[f"{owner}/{service}"] = "\n".join(out) + "\n"
                continue
            docs = []
            for slo in slos:
                out = ["apiVersion: openslo/v1", "kind: SLO", "metadata:", f"  name: {scalar(slo['name'])}",
                       f"  displayName: {json.dumps(service + ' ' + slo['kind'])}", "spec:",
                       f"  service: {scalar(service)}", "  indicator:", "    metadata:",
                       f"      name: {scalar(slo['name'] + '-sli')}", "    spec:"]
                if slo["kind"] == "availability":
                    out += ["      ratioMetric:", "        counter: true",
                            "        good:", "          metricSource:", f"            metricSourceRef: {PUSH_SOURCE}",
                            "        total:", "          metricSource:", f"            metricSourceRef: {PUSH_SOURCE}"]
                else:
                    out += ["      thresholdMetric:", "        metricSource:",
                            f"          metricSourceRef: {PUSH_SOURCE}"]
                out += ["  timeWindow:", f"    - duration: {slo['days']}d", "      isRolling: true",
                        "  budgetingMethod: Occurrences", "  objectives:"]
                if slo["kind"] == "availability":
                    out += [f"    - displayName: {json.dumps('Requests without server errors')}",
                            f"      target: {slo['target']}"]
                else:
                    out += [f"    - displayName: {json.dumps('Requests faster than %d ms' % slo['threshold'])}",
                            "      op: lt", f"      value: {slo['threshold']}", f"      target: {slo['target']}"]
                docs.append(out)
            files[f"{owner}/{service}"] = join_documents(docs)
        return files

    def write_history(self, path: Path, end: datetime) -> tuple[int, int]:
        """Writes each SLO's 30 days as JSON lines; returns (SLOs with history, values written)."""
        rng = random.Random(f"{self.rng.random()}-history")
        end = end.replace(second=0, microsecond=0)
        first_minute = (end - timedelta(hours=24)).replace(minute=0)
        first_hour = end.replace(minute=0) - timedelta(days=HISTORY_DAYS)
        hour_starts = []
        t = first_hour
        while t < first_minute:
            hour_starts.append(t)
            t += timedelta(hours=1)
        minute_count = int((end - first_minute).total_seconds() // 60)
        # The daily traffic curve (quietest at 03:00 UTC, busiest at 15:00), at each hour's middle and each minute.
        def shape(at: datetime) -> float:
            h = at.hour + at.minute / 60
            daily = 0.35 + 0.65 * (0.5 + 0.5 * math.cos(2 * math.pi * (h - 15) / 24))
            return daily * (0.8 if at.weekday() >= 5 else 1.0)
        hour_shapes = [shape(h + timedelta(minutes=30)) for h in hour_starts]
        minute_shapes = [shape(first_minute + timedelta(minutes=i)) for i in range(minute_count)]
        end_minutes_ago_of_hour = [(end - h).total_seconds() / 60 for h in hour_starts]
        values = 0
        written = 0
        with path.open("w") as out:
            for slo in self.slos:
                roll = rng.random()
                if roll < 0.02:
                    continue  # never sent an event: no data
                budget = 1 - slo["target"]
                peak = 20 + rng.random() * 2980
                base = budget * (0.1 + rng.random() * 0.4)
                # An episode: (starts minutes ago, lasts minutes, error ratio).
                if roll < 0.05:
                    episode = (180, 180, min(0.5, 30 * budget))  # burning now: page alerts fire
                elif roll < 0.08:
                    episode = (10 * 1440, 3 * 1440, min(0.5, 10 * budget))  # budget spent a week ago
                elif roll < 0.11:
                    episode = (12 * 1440, 1440, min(0.5, 6 * budget))  # a slow day: at risk
                else:
                    start = (4 + rng.random() * 25) * 1440
                    episode = (start, 5 + rng.random() * 25, min(0.5, 12 * budget))

                def ratio_at(ago: float) -> float:
                    return episode[2] if episode[0] - episode[1] < ago <= episode[0] else base

                hg, ht = [], []
                for shp, ago in zip(hour_shapes, end_minutes_ago_of_hour):
                    total = int(peak * 60 * shp * (0.9 + 0.2 * rng.random()))
                    bad = min(total, int(total * ratio_at(ago) * (0.5 + rng.random()) + rng.random()))
                    hg.append(total - bad)
                    ht.append(total)
                mg, mt = [], []
                for i, shp in enumerate(minute_shapes):
                    total = int(peak * shp * (0.9 + 0.2 * rng.random()))
                    bad = min(total, int(total * ratio_at(minute_count - i) * (0.5 + rng.random()) + rng.random()))
                    mg.append(total - bad)
                    mt.append(total)
                values += 2 * (len(ht) + len(mt))
                line = {"slo": f"default/{slo['name']}",
                        "hours": {"start": iso(first_hour), "good": hg, "total": ht},
                        "minutes": {"start": iso(first_minute), "good": mg, "total": mt}}
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
                written += 1
        return written, values

    def write(self, out_dir: Path) -> dict[str, int]:
        files = 0
        sizes: dict[Path, int] = {}

        def put(path: Path, text: str) -> None:
            nonlocal files
            data = text.encode()
            path.write_bytes(data)
            sizes[path] = len(data)
            files += 1

        location = [
            f"apiVersion: {API_VERSION}", "kind: Location", "metadata:", "  name: bench-catalog",
            f"  description: {json.dumps(f'Generated benchmark organisation: {self.n} services.')}",
            "spec:", "  type: file", "  targets:", "    - ./org.yaml", "    - ./systems.yaml",
            "    - ./apis/*.yaml", "    - ./components/*/*.yaml", "    - ./slo-sources.yaml",
            "    - ./slos/*/*.yaml", "    - ./scorecards/*.yaml",
        ]
        put(out_dir / "all.yaml", "\n".join(location) + "\n")
        put(out_dir / "org.yaml", self.org_yaml())
        put(out_dir / "systems.yaml", self.systems_yaml())
        (out_dir / "apis").mkdir()
        for team, text in self.api_files().items():
            put(out_dir / "apis" / f"{team}.yaml", text)
        (out_dir / "components").mkdir()
        for team in self.teams:
            if self.team_components[team]:
                (out_dir / "components" / team).mkdir()
        for c in self.components:
            put(out_dir / "components" / c["owner"] / f"{c['name']}.yaml", self.component_yaml(c))
        put(out_dir / "slo-sources.yaml", join_documents([[
            "apiVersion: openslo/v1", "kind: DataSource", "metadata:", f"  name: {PUSH_SOURCE}",
            f"  displayName: {json.dumps('Pushed by the services through the events API')}", "spec:", "  type: Push",
        ]]))
        (out_dir / "slos").mkdir()
        for key, text in self.slo_files().items():
            team, service = key.split("/")
            (out_dir / "slos" / team).mkdir(exist_ok=True)
            put(out_dir / "slos" / team / f"{service}.yaml", text)
        (out_dir / "scorecards").mkdir()
        for name, text in SCORECARDS.items():
            put(out_dir / "scorecards" / f"{name}.yaml", text)
        for path, size in sizes.items():
            if size > MAX_FILE_BYTES:
                print(f"warning: {path} is {size} bytes, over ingest's default limit of {MAX_FILE_BYTES}",
                      file=sys.stderr)

        counts = {
            "Location": 1,
            "Group": 1 + len(self.departments) + len(self.teams),
            "User": len(self.users),
            "Domain": len(self.domains),
            "System": len(self.systems),
            "Component": len(self.components),
            "API": len(self.apis),
        }
        # Not catalog entities: what else ingest reads.
        counts_other = {"SLO": len(self.slos), "Scorecard": len(SCORECARDS)}
        return {"counts": counts, "other": counts_other, "files": files}


SCORECARDS = {
    "production-readiness": """apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: production-readiness
  title: Production readiness
  description: "What a service needs before it takes customer traffic."
spec:
  appliesTo:
    kind: Component
    type: service
  levels: [Bronze, Silver, Gold]
  rules:
    - id: owned-by-a-team
      level: Bronze
      check: ownerIsGroup
    - id: described
      level: Bronze
      check: hasDescription
    - id: runbook
      level: Silver
      check: hasLink
      type: runbook
    - id: supported-lifecycle
      level: Silver
      check: lifecycleIn
      lifecycles: [production, experimental]
    - id: dashboard
      level: Gold
      check: hasLink
      type: dashboard
    - id: no-deprecated-dependencies
      level: Gold
      check: dependenciesNotDeprecated
""",
    "slo": """apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: slo
  title: Service level objectives
  description: "An SLO, met, with budget to spare."
spec:
  appliesTo:
    kind: Component
    type: service
  levels: [Bronze, Silver, Gold]
  rules:
    - id: has-slo
      level: Bronze
      check: hasSlo
    - id: slos-met
      level: Silver
      check: slosMeetTarget
    - id: no-page-alert
      level: Silver
      check: noPageAlert
    - id: budget-left
      level: Gold
      check: budgetAbove
      fraction: 0.25
""",
    "documentation": """apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: documentation
  title: Documentation
  description: "Every component says what it is and where to read more."
spec:
  appliesTo:
    kind: Component
  levels: [Basic, Good]
  rules:
    - id: described
      level: Basic
      check: hasDescription
    - id: tagged
      level: Basic
      check: hasDescription
    - id: runbook
      level: Good
      check: hasLink
      type: runbook
""",
}


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def join_documents(docs: list[list[str]]) -> str:
    return "".join("---\n" + "\n".join(doc) + "\n" for doc in docs)


def prepare_out_dir(out_dir: Path) -> None:
    """Creates DIR, or clears what an earlier run generated there; refuses a non-empty folder it did not make."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise SystemExit(f"error: {out_dir} is not a folder")
        entries = list(out_dir.iterdir())
        if entries and not (out_dir / MARKER).exists():
            raise SystemExit(f"error: {out_dir} is not empty and was not made by this script; choose another --out")
        for sub in ("components", "apis", "slos", "scorecards"):
            if (out_dir / sub).exists():
                shutil.rmtree(out_dir / sub)
        for name in ("all.yaml", "org.yaml", "systems.yaml", "slo-sources.yaml", HISTORY_FILE, MARKER):
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)


DESCRIPTION_LINE = re.compile(r'^  description: (".*")$', re.MULTILINE)
REVISION = re.compile(r" \(rev (\d+)\)$")


def modify(out_dir: Path, count: int, seed: int) -> int:
    """Rewrites the description of `count` component files; returns how many it changed."""
    files = sorted((out_dir / "components").glob("*/*.yaml"))
    if not files:
        raise SystemExit(f"error: no component files under {out_dir / 'components'}; generate a catalog first")
    rng = random.Random(f"{seed}-modify")
    picked = rng.sample(files, min(count, len(files)))
    changed = 0
    for path in picked:
        text = path.read_text()
        match = DESCRIPTION_LINE.search(text)
        if not match:
            print(f"warning: {path} has no description line; left alone", file=sys.stderr)
            continue
        old = json.loads(match.group(1))
        rev = REVISION.search(old)
        base = old[: rev.start()] if rev else old
        new = f"{base} (rev {int(rev.group(1)) + 1 if rev else 1})"
        text = text[: match.start(1)] + json.dumps(new) + text[match.end(1):]
        path.write_text(text)
        changed += 1
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, help="number of Components to generate")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--history-end", metavar="RFC3339",
                        help="the instant the SLI history ends (default: now); e.g. 2026-11-24T06:00:00Z")
    parser.add_argument("--modify", type=int, metavar="K",
                        help="instead of generating, rewrite the descriptions of K existing component files")
    args = parser.parse_args()

    started = time.monotonic()
    if args.modify is not None:
        if args.services is not None:
            parser.error("--modify and --services are exclusive")
        if args.modify < 0:
            parser.error("--modify must be ≥ 0")
        changed = modify(args.out, args.modify, args.seed)
        print(f"modified {changed} component files in {time.monotonic() - started:.2f}s")
        return 0
    if args.services is None or args.services < 1:
        parser.error("--services N (N ≥ 1) is required")

    if args.history_end is None:
        history_end = datetime.now(timezone.utc)
    else:
        try:
            history_end = datetime.fromisoformat(args.history_end.replace("Z", "+00:00"))
        except ValueError as e:
            parser.error(f"--history-end: {e}")
        if history_end.tzinfo is None:
            parser.error("--history-end needs a time zone, e.g. 2026-11-24T06:00:00Z")
        history_end = history_end.astimezone(timezone.utc)

    org = Org(args.services, args.seed)
    prepare_out_dir(args.out)
    written = org.write(args.out)
    counts = written["counts"]
    history_slos, history_values = org.write_history(args.out / HISTORY_FILE, history_end)
    sample = org.sample_component()
    push_slos = [s["name"] for s in org.slos if not s["sloth"]][:1]
    info = {"services": args.services, "seed": args.seed, "counts": counts, "entities": sum(counts.values()),
            "other": written["other"], "files": written["files"], "sample_component": sample,
            "sample_slo_component": org.sample_slo_component(), "largest_team": org.largest_team(),
            "largest_system": org.largest_system(), "hub_component": org.hub_component(),
            "sample_slo": push_slos[0] if push_slos else None,
            "sample_slo_owner": next((s["owner"] for s in org.slos if not s["sloth"]), None),
            "history": {"file": HISTORY_FILE, "slos": history_slos, "values": history_values,
                        "end": iso(history_end.replace(second=0, microsecond=0))}}
    (args.out / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    for kind, n in counts.items():
        print(f"{kind:<10} {n:>8}")
    print(f"{'total':<10} {sum(counts.values()):>8} entities in {written['files']} files")
    for kind, n in written["other"].items():
        print(f"{kind:<10} {n:>8}")
    print(f"SLI history: {history_slos} SLOs, {history_values} values in {HISTORY_FILE}")
    print(f"sample component: {sample}")
    print(f"generated in {time.monotonic() - started:.2f}s into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
