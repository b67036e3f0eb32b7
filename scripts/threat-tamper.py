#!/usr/bin/env python3
"""Evasion robustness of the edge-waf threat scanner.

Takes the committed attack corpora, keeps the lines the scanner detects as
they are, rewrites each with one evasion transform at a time (sqlmap tamper
scripts for SQLi, encoding and spacing tricks for XSS) and prints the share
of rewritten lines still detected.

    scripts/threat-tamper.py            # needs cargo; no network

A transform that yields the line unchanged is skipped for that line.
"""
import os, random, re, subprocess, sys, tempfile, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "crates/edge-waf/tests/corpus")
KW = r"\b(select|union|from|where|and|or|order|by|sleep|benchmark|waitfor|delay|case|when|then|else|end|null|like|having|group|limit|concat|char|into|insert|update|exec)\b"


def probe(lines):
    """Which lines the scanner blocks (PROBE mode of the threat test)."""
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt") as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    out = subprocess.run(
        ["cargo", "test", "-q", "--release", "-p", "edge-waf", "--test", "threat",
         "probe", "--", "--ignored", "--nocapture"],
        cwd=ROOT, env={**os.environ, "PROBE": path}, capture_output=True, text=True,
    ).stdout
    os.unlink(path)
    return [l.startswith("HIT ") for l in out.splitlines() if l.startswith(("HIT ", "pass "))]


def sub_kw(f):
    return lambda s: re.sub(KW, lambda m: f(m.group(0)), s, flags=re.I)


SQLI = {
    "space2comment": lambda s: s.replace(" ", "/**/"),
    "space2plus": lambda s: s.replace(" ", "+"),
    "space2randomblank": lambda s: re.sub(" ", lambda _: random.choice(["%09", "%0a", "%0c", "%0d", "%0b"]), s),
    "space2hash": lambda s: s.replace(" ", "%23%0a"),
    "space2dash": lambda s: s.replace(" ", "--%0a"),
    "space2mssqlblank": lambda s: s.replace(" ", "%01"),
    "space2a0": lambda s: s.replace(" ", "%a0"),
    "randomcase": lambda s: "".join(c.upper() if random.random() < 0.5 else c.lower() for c in s),
    "urlencode": lambda s: urllib.parse.quote(s, safe=""),
    "doubleencode": lambda s: urllib.parse.quote(urllib.parse.quote(s, safe=""), safe=""),
    "charunicodeencode": lambda s: "".join("%%u%04x" % ord(c) for c in s),
    "symboliclogical": lambda s: re.sub(r"(?i)\band\b", "&&", re.sub(r"(?i)\bor\b", "||", s)),
    "versionedkeywords": sub_kw(lambda k: "/*!" + k + "*/"),
    "versionedmorekeywords": sub_kw(lambda k: "/*!50000" + k + "*/"),
    "halfversionedmorekeywords": sub_kw(lambda k: "/*!0" + k),
    "percentage": sub_kw(lambda k: "%".join(k)),
    "apostrophemask": lambda s: s.replace("'", "%EF%BC%87"),
    "apostrophenullencode": lambda s: s.replace("'", "%00%27"),
    "unmagicquotes": lambda s: s.replace("'", "%bf%27"),
    "equaltolike": lambda s: re.sub(r"(?<![<>!:])=", " LIKE ", s),
    "between": lambda s: re.sub(r"(?<=[\w)'])\s*>\s*(?=[\w('])", " NOT BETWEEN 0 AND ", s),
    "htmlencode": lambda s: "".join(c if c.isalnum() else "&#%d;" % ord(c) for c in s),
}

XSS = {
    "randomcase": SQLI["randomcase"],
    "urlencode": SQLI["urlencode"],
    "doubleencode": SQLI["doubleencode"],
    "space2slash": lambda s: re.sub(r"(<[a-zA-Z]+) ", r"\1/", s),
    "space2newline": lambda s: re.sub(r"(<[a-zA-Z]+) ", "\\1%0a", s),
    "space2tab": lambda s: s.replace(" ", "%09"),
    "entity_dec": lambda s: re.sub(r"[()'\"]", lambda m: "&#%d;" % ord(m.group(0)), s),
    "entity_hex_padded": lambda s: re.sub(r"[()]", lambda m: "&#x%06x;" % ord(m.group(0)), s),
    "js_scheme_tab": lambda s: re.sub(r"(?i)javascript:", "java&#9;script:", s),
    "js_scheme_newline": lambda s: re.sub(r"(?i)javascript:", "jav%0aascript:", s),
    "null_in_tag": lambda s: re.sub(r"(?i)<script", "<scr%00ipt", s),
    "backtick_call": lambda s: re.sub(r"(alert|prompt|confirm)\((\d*)\)", r"\1`\2`", s),
    "fullwidth_brackets": lambda s: s.replace("<", "%EF%BC%9C").replace(">", "%EF%BC%9E"),
}


def main():
    random.seed(7)
    for name, transforms in (("sqli", SQLI), ("xss", XSS)):
        base = [l for l in open(os.path.join(CORPUS, name + ".txt"), encoding="utf-8").read().splitlines() if l.strip()]
        # Decode once so transforms see the payload, not its transport encoding.
        decoded = [urllib.parse.unquote_plus(l) for l in base]
        base = [d if "\n" not in d and "\r" not in d else l for l, d in zip(base, decoded)]
        base = [l for l, hit in zip(base, probe(base)) if hit]
        print(f"{name}: {len(base)} detected lines as the base")
        for t, f in transforms.items():
            pairs = [(b, f(b)) for b in base]
            changed = [v for b, v in pairs if v != b]
            if not changed:
                continue
            hits = sum(probe(changed))
            print(f"  {t:<26} {hits:>5}/{len(changed):<5} {100 * hits / len(changed):6.2f}%")


if __name__ == "__main__":
    sys.exit(main())
