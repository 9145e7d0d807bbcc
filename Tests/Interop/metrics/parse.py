"""Parses a Prometheus text exposition file with prometheus_client's own parser.

Prints one JSON object: {"families": {name: type}, "samples": [[name, labels, value], ...]}.
A file the parser rejects exits with status 1 and the parser's message on stderr.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        text = handle.read()
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                samples.append([sample.name, sample.labels, sample.value])
    except Exception as error:  # the parser raises ValueError and others for malformed input
        print(f"{sys.argv[1]}: {error}", file=sys.stderr)
        return 1
    json.dump({"families": families, "samples": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
