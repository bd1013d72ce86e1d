#!/usr/bin/env python3
"""A class of N made-up submissions, to time `make grade SUBMISSIONS=DIR` (GRADING.md).

    Bench/make-class.py STARTER DEST [N]

STARTER is a student's copy (`make starter DEST=STARTER`); each submission in DEST is that
copy's Labs/ with each lab, chosen at random (seeded: the same class every time), left as
the starter's stub, replaced by the reference solution, or the reference with one of
Tests/Mistakes applied. Every lab file then gets a line naming its submission, so no two
submissions share a lab's sources and every lab of every submission really compiles.
"""
import os
import random
import shutil
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
starter, dest = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 40


def mistakes():
    found = {}
    folder = os.path.join(root, "Tests/Mistakes")
    for name in sorted(os.listdir(folder)):
        text = open(os.path.join(folder, name)).read()
        head, body = text.split("\n--- replace\n")
        replace, with_ = body.split("\n--- with\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        lab = int(fields["lab"])
        found.setdefault(lab, []).append((fields.get("file", "main.swift"), replace, with_.rstrip("\n")))
    return found


labs = sorted(d for d in os.listdir(os.path.join(root, "Labs")) if d[:2].isdigit())
wrong = mistakes()
rng = random.Random(2026)
os.makedirs(dest, exist_ok=True)
for number in range(1, count + 1):
    name = "student-%02d" % number
    folder = os.path.join(dest, name, "Labs")
    os.makedirs(folder)
    kinds = []
    for lab in labs:
        choices = ["starter", "solution"] + (["mistake"] if int(lab[:2]) in wrong else [])
        kind = rng.choice(choices)
        source = os.path.join(starter if kind == "starter" else root, "Labs", lab)
        shutil.copytree(source, os.path.join(folder, lab))
        if kind == "mistake":
            file, replace, with_ = rng.choice(wrong[int(lab[:2])])
            path = os.path.join(folder, lab, file)
            text = open(path).read()
            assert text.count(replace) == 1, (lab, replace)
            open(path, "w").write(text.replace(replace, with_))
        for file in os.listdir(os.path.join(folder, lab)):
            if file.endswith(".swift"):
                with open(os.path.join(folder, lab, file), "a") as out:
                    out.write("// %s\n" % name)
        kinds.append({"starter": "s", "solution": "r", "mistake": "m"}[kind])
    print(name, "".join(kinds))  # per lab: s the stub, r the reference, m a mistake
