#!/usr/bin/env python3
"""Every `import X` of a package module is a declared dependency of the importing target.

SwiftPM lets a target import a module it only reaches through another target's dependencies;
such an import breaks as soon as that other target changes its own. This reads Package.swift
as text (no Swift, no network), finds each target's folder and dependencies, and lists every
import of one of this package's targets, or of a module of a package it depends on, that the
target does not declare. Exit status 1 when there is one, 0 otherwise.

Usage: scripts/check-imports.py [PACKAGE_DIR]
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
manifest = open(os.path.join(root, "Package.swift"), encoding="utf-8").read()
# Comments out, so a word in one is never read as a dependency.
manifest = re.sub(r"//[^\n]*", "", manifest)


def balanced(text, start):
    """The text from `start` (an opening parenthesis or bracket) to its match, inclusive."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack = []
    i = start
    while i < len(text):
        c = text[i]
        if c == '"':
            i = text.index('"', i + 1)
        elif c in closing:
            stack.append(closing[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return text[start:i + 1]
        i += 1
    sys.exit(f"check-imports: unbalanced brackets in Package.swift after offset {start}")


# `let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")`
aliases = {m.group(1): m.group(2) for m in re.finditer(
    r'let\s+(\w+)\s*:\s*Target\.Dependency\s*=\s*\.product\(\s*name:\s*"([^"]+)"', manifest)}


def dependencies(text):
    """The module names a target's `dependencies: [...]` declares."""
    m = re.search(r"dependencies:\s*\[", text)
    if not m:
        return set()
    deps = balanced(text, m.end() - 1)
    names = set(re.findall(r'\.(?:product|target|byName)\(\s*name:\s*"([^"]+)"', deps))
    bare = re.sub(r"\.(?:product|target|byName)\([^)]*\)", "", deps)
    names |= set(re.findall(r'"([^"]+)"', bare))
    names |= {aliases[w] for w in re.findall(r"\b(\w+)\b", bare) if w in aliases}
    return names


targets = {}  # name -> (folder, declared dependencies)
for m in re.finditer(r"\.(target|executableTarget|testTarget|systemLibrary)\(", manifest):
    text = balanced(manifest, m.end() - 1)
    name = re.match(r'\(\s*name:\s*"([^"]+)"', text)
    if not name:
        continue
    path = re.search(r'path:\s*"([^"]+)"', text)
    if "\\(" in name.group(1):
        continue  # a template, expanded below
    folder = path.group(1) if path else ("Tests/" if m.group(1) == "testTarget" else "Sources/") + name.group(1)
    targets[name.group(1)] = (folder, dependencies(text))

# Targets made in a loop:
# `fuzzTargetNames.map { name in .executableTarget(name: "fuzz-\(name)", …, path: "Fuzz/Targets/fuzz-\(name)") }`
for loop in re.finditer(r"let\s+(\w+)\s*=\s*\[", manifest):
    use = re.search(loop.group(1) + r"\.map\s*\{\s*(\w+)\s+in\s*\.(?:target|executableTarget|testTarget)\(", manifest)
    if not use:
        continue
    names = re.findall(r'"([^"]+)"', balanced(manifest, loop.end() - 1))
    text = balanced(manifest, use.end() - 1)
    variable = use.group(1)
    name_template = re.match(r'\(\s*name:\s*"([^"]+)"', text).group(1)
    path_template = re.search(r'path:\s*"([^"]+)"', text)
    for n in names:
        name = name_template.replace(f"\\({variable})", n)
        folder = path_template.group(1).replace(f"\\({variable})", n) if path_template else "Sources/" + name
        targets[name] = (folder, dependencies(text))

# Modules of the packages this one depends on: the products it names, and, once they are checked
# out, every target of theirs (a module one could import without naming it).
external = set(re.findall(r'\.product\(\s*name:\s*"([^"]+)"', manifest)) | set(aliases.values())
checkouts = os.path.join(root, ".build", "checkouts")
if os.path.isdir(checkouts):
    for package in os.listdir(checkouts):
        try:
            text = open(os.path.join(checkouts, package, "Package.swift"), encoding="utf-8").read()
        except OSError:
            continue
        external |= set(re.findall(r'\.(?:target|systemLibrary)\(\s*name:\s*"([^"]+)"', text))
package_modules = set(targets) | external

import_line = re.compile(r"^[ \t]*(?:@[\w()]+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
                         r"(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_]\w*)", re.M)
problems = set()
for name, (folder, declared) in sorted(targets.items()):
    for base, _, files in os.walk(os.path.join(root, folder)):
        for file in sorted(files):
            if not file.endswith(".swift"):
                continue
            path = os.path.join(base, file)
            for module in import_line.findall(open(path, encoding="utf-8").read()):
                if module in package_modules and module != name and module not in declared:
                    problems.add(f"{name}: imports {module} ({os.path.relpath(path, root)}) but does not declare it")

for line in sorted(problems):
    print(line)
if problems:
    print(f"check-imports: {len(problems)} import(s) of modules not declared as dependencies — "
          "add each module to its target's dependencies in Package.swift", file=sys.stderr)
    sys.exit(1)
