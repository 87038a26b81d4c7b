"""Prints `function output <- input` for every output a manifest lets be
written over an input ("aliases")."""
import json
import sys

manifest = json.load(open(sys.argv[1]))
for function in manifest["functions"]:
    for output in function["outputs"]:
        if "aliases" in output:
            source = function["inputs"][output["aliases"]]["name"]
            print(function["name"], output["name"], "<-", source)
