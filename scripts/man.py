#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Render netfence's man pages from Markdown: man/NAME.SECTION.md -> roff.

    scripts/man.py [--version V] [--date YYYY-MM-DD] SOURCE.md OUT

One source per page, shared with the docs: man/netfence.8.md is itself the command reference
(README links to it), and a page's line `<!-- include: ../docs/policy.md -->` takes a whole
document from docs/ (its `# title` dropped), so netfence-policy(5) and netfence-config(5) are
docs/policy.md and docs/configuration.md as they stand. The Markdown understood is what the
docs use: `#`/`##`/`###` headings, paragraphs, `-`/`*`/`1.` lists with indented continuation
lines, `term` lines followed by `: definition`, fenced code blocks, `| a | b |` tables, `code`, **bold**, *emphasis*, [links](target)
and <!-- comments -->. Anything else is kept as text, never dropped.

The page's first line names it, ronn style: `# netfence(8) -- fence a container's egress`.
Tables become tagged paragraphs (the first column the tag), which read better than tbl at
80 columns. Every non-ASCII character becomes a groff \\[uXXXX] escape, so the output is
plain ASCII and renders the same through man(1), groff -ww and lintian.
"""
import argparse
import os
import re
import sys

# Links between the docs become the man pages or files a reader of an installed system has.
DOC_LINKS = {
    "configuration.md": "netfence-config(5)",
    "policy.md": "netfence-policy(5)",
    "../man/netfence.8.md": "netfence(8)",
    "man/netfence.8.md": "netfence(8)",
    "../schemas/policy.schema.json": "/usr/share/netfence/policy.schema.json",
    "../schemas/config.schema.json": "/usr/share/netfence/config.schema.json",
}
DOC_DIR = "/usr/share/doc/netfence"


def escape(text):
    """Plain text to roff: backslashes, hyphens (so options copy as typed), non-ASCII."""
    out = []
    for ch in text.replace("\\", "\\e").replace("-", "\\-"):
        out.append(ch if ord(ch) < 128 else "\\[u%04X]" % ord(ch))
    return "".join(out)


def link_text(text, target):
    base = target.split("#", 1)[0]
    name = os.path.basename(base)
    mapped = DOC_LINKS.get(base) or DOC_LINKS.get(name)
    if target.startswith("#") or not base:
        return text
    if base in DOC_LINKS and "/" in base:
        return DOC_LINKS[base]
    if text.strip("`") in (base, name, target):
        if mapped:
            return mapped
        if re.match(r"https?://", base):
            return base
        return "%s/%s" % (DOC_DIR, name) if name.endswith(".md") else name
    if re.match(r"https?://", base):
        return "%s <%s>" % (text, base)
    return text


INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"
                    r"|\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text):
    """One paragraph's Markdown inline markup to roff fonts."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        code, bold, em, ltext, target = m.groups()
        if code is not None:
            out.append("\\fB" + escape(code) + "\\fR")
        elif bold is not None:
            out.append("\\fB" + inline(bold) + "\\fR")
        elif em is not None:
            out.append("\\fI" + inline(em) + "\\fR")
        else:
            mapped = link_text(ltext, target)
            out.append(inline(mapped) if mapped == ltext else escape(mapped))
        pos = m.end()
    out.append(escape(text[pos:]))
    line = "".join(out)
    # A line starting with . or ' would be read as a request.
    return "\\&" + line if line[:1] in (".", "'") else line


def code_line(line):
    line = escape(line)
    return "\\&" + line if line[:1] in (".", "'") else line


def strip_comments(text):
    """Drop <!-- comments --> but expand <!-- include: PATH --> lines first (by the caller)."""
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def expand_includes(text, base_dir):
    def repl(m):
        path = os.path.normpath(os.path.join(base_dir, m.group(1).strip()))
        with open(path, encoding="utf-8") as f:
            doc = f.read()
        # The document's own title is the man page's NAME.
        return re.sub(r"\A\s*# [^\n]*\n", "", doc)

    return re.sub(r"^<!-- include: (.+?) -->$", repl, text, flags=re.M)


def table_rows(lines):
    rows = []
    for line in lines:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append([c.replace("\\|", "|") for c in cells])
    header, body = rows[0], [r for r in rows[2:]]
    return header, body


def render_table(lines, out):
    header, body = table_rows(lines)
    for row in body:
        out.append(".TP")
        out.append(inline(row[0]))
        extra = ["%s: %s" % (header[i], row[i]) for i in range(1, len(row) - 1)
                 if i < len(header) and row[i]]
        text = row[-1] if len(row) > 1 else ""
        if extra:
            text = "(" + "; ".join(extra) + ") " + text
        out.append(inline(text))


LIST_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+(.*)$")
FENCE = re.compile(r"^(\s*)(```|~~~)")


def render_body(lines):
    out = []
    i, para, in_list = 0, [], False

    def flush():
        nonlocal para
        if para:
            out.append(inline(" ".join(s.strip() for s in para)))
            para = []

    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            flush()
            indent = len(fence.group(1))
            i += 1
            code = []
            while i < len(lines) and not FENCE.match(lines[i]):
                code.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
                i += 1
            i += 1
            body = [".nf"] + [code_line(c) for c in code] + [".fi"]
            out += [".IP"] + body if in_list else [".PP", ".RS 4"] + body + [".RE"]
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        heading = re.match(r"^(#{1,3})\s+(.*?)\s*#*$", line)
        if heading:
            flush()
            in_list = False
            level, title = len(heading.group(1)), heading.group(2)
            if level <= 2:
                out.append('.SH "%s"' % inline(title.upper()).replace('"', '\\(dq'))
            else:
                out.append('.SS "%s"' % inline(title).replace('"', '\\(dq'))
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and \
                re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            flush()
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            render_table(lines[i:j], out)
            in_list = False
            i = j
            continue
        if not para and i + 1 < len(lines) and lines[i + 1].startswith(": "):
            # A definition list entry, "term" then ": definition" with indented continuation.
            flush()
            out += [".TP", inline(line.strip())]
            para = [lines[i + 1][2:]]
            i += 2
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                para.append(lines[i])
                i += 1
            flush()
            in_list = False
            continue
        item = LIST_ITEM.match(line)
        if item and not para:
            flush()
            bullet = item.group(2)
            mark = "\\(bu" if bullet in ("-", "*") else bullet
            out.append(".IP %s %d" % (mark, 2 if bullet in ("-", "*") else 4))
            para = [item.group(3)]
            in_list = True
            i += 1
            # Continuation lines: indented, or plain lines before a blank one.
            while i < len(lines) and lines[i].strip() and not LIST_ITEM.match(lines[i]) \
                    and not FENCE.match(lines[i]):
                para.append(lines[i])
                i += 1
            flush()
            continue
        if in_list and line.startswith("  "):
            # A further paragraph of a list item.
            out.append(".IP")
        elif not para:
            in_list = False
            out.append(".PP")
        para.append(line)
        i += 1
    flush()
    return out


def render(source, version, date):
    with open(source, encoding="utf-8") as f:
        text = f.read()
    first, _, rest = text.partition("\n")
    m = re.match(r"^# ([a-z0-9-]+)\((\d)\) -- (.+)$", first)
    if not m:
        sys.exit("%s: the first line must be '# name(section) -- description'" % source)
    name, section, description = m.groups()
    rest = strip_comments(expand_includes(rest, os.path.dirname(source)))
    out = [
        '.\\" Generated by scripts/man.py from %s: edit that file, not this one.'
        % os.path.relpath(source),
        '.TH "%s" "%s" "%s" "netfence %s" "netfence"' % (name.upper(), section, date, version),
        # Paths and commands must not be hyphenated, nor words spread by justification.
        ".nh",
        ".ad l",
        ".SH NAME",
        "%s \\- %s" % (escape(name), escape(description)),
    ]
    out += render_body(rest.split("\n"))
    # Successive paragraph macros are one paragraph break.
    cleaned = []
    for line in out:
        if line in (".PP", ".IP") and cleaned and cleaned[-1] in (".PP", ".IP", ".TP") or \
                line == ".PP" and cleaned and cleaned[-1].startswith(".SH"):
            continue
        if line == ".PP" and cleaned and cleaned[-1].startswith(".SS"):
            continue
        cleaned.append(line)
    return "\n".join(cleaned) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", default="")
    ap.add_argument("--date", default="")
    ap.add_argument("source")
    ap.add_argument("output")
    args = ap.parse_args()
    date = args.date
    if not date:
        # Reproducible: the date of the source, or SOURCE_DATE_EPOCH when set (dpkg sets it).
        import time
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", os.path.getmtime(args.source)))
        date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    roff = render(args.source, args.version, date)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(roff)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
