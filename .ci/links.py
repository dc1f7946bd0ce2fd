"""Every relative link of README.md, ARCHITECTURE.md, docs/ and bench/README.md points at a
file that exists (anchors and web addresses are not followed). Exits 1 naming each broken
link."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
pages = [root / "README.md", root / "ARCHITECTURE.md", root / "bench" / "README.md"]
pages += sorted((root / "docs").glob("*.md"))
link = re.compile(r"\]\(([^)\s]+)\)")
broken = []
for page in pages:
    fenced = False
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        for target in link.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(root)}:{number}: {target}")
print(f"{len(pages)} pages, {len(broken)} broken links")
for entry in broken:
    print(entry)
sys.exit(1 if broken else 0)
