#!/usr/bin/env bash
# Checks the documentation: README.md stays a front door (at most 200 lines), and every relative
# link in README.md and docs/**/*.md points at a file that exists (and, for a link to a heading
# of a markdown file, at a heading that exists). Also: every page under docs/ opens with a title
# and a one-line summary, and docs/operations/iam.md quotes the IAM policies of deploy/ as they
# are. Prints one line per problem; exits non-zero when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

README_MAX_LINES=200
problems=0
problem() {
  echo "$*" >&2
  problems=$((problems + 1))
}

# README.md's length.
lines=$(wc -l < README.md)
if [ "$lines" -gt "$README_MAX_LINES" ]; then
  problem "README.md: $lines lines, more than $README_MAX_LINES; move the detail into docs/"
fi

files=(README.md)
while IFS= read -r f; do files+=("$f"); done < <(find docs -name '*.md' | sort)

# A file's text outside fenced code blocks, without inline code spans.
prose() {
  awk '/^[[:space:]]*(```|~~~)/ { fenced = !fenced; next } !fenced { print }' "$1" |
    sed -E 's/`[^`]*`//g'
}

# GitHub's anchors for a markdown file's headings: lower case, punctuation dropped, spaces to
# hyphens.
anchors() {
  awk '/^[[:space:]]*(```|~~~)/ { fenced = !fenced; next }
       !fenced && /^##* / { sub(/^#+ +/, ""); sub(/ +#+ *$/, ""); print }' "$1" |
    tr '[:upper:]' '[:lower:]' |
    sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

for file in "${files[@]}"; do
  dir=$(dirname "$file")
  # Every link target: [text](target) and ![alt](target), one per line.
  while IFS= read -r target; do
    target=${target#<}
    target=${target%>}
    target=${target%% \"*}
    case "$target" in
      '' | [a-zA-Z]*:*) continue ;; # http:, https:, mailto: and the like
    esac
    path=${target%%#*}
    anchor=
    if [[ "$target" == *"#"* ]]; then anchor=${target#*#}; fi
    if [ -z "$path" ]; then
      resolved=$file
    else
      resolved="$dir/$path"
      if [ ! -e "$resolved" ]; then
        problem "$file: link to $target: $resolved does not exist"
        continue
      fi
    fi
    if [ -n "$anchor" ] && [[ "$resolved" == *.md ]] && [ -f "$resolved" ]; then
      if ! anchors "$resolved" | grep -qxF -- "$anchor"; then
        problem "$file: link to $target: no heading #$anchor in $resolved"
      fi
    fi
  done < <(prose "$file" | grep -oE '\]\([^)[:space:]]+( "[^"]*")?\)' | sed -E 's/^\]\(//; s/\)$//')
done

# Every page under docs/ opens with "# Title", a blank line, and a one-line summary.
while IFS= read -r page; do
  first=$(sed -n 1p "$page")
  second=$(sed -n 2p "$page")
  third=$(sed -n 3p "$page")
  fourth=$(sed -n 4p "$page")
  if [[ "$first" != "# "* || -n "$second" || -z "$third" || "$third" == "#"* || -n "$fourth" ]]; then
    problem "$page: must open with '# Title', a blank line, a one-line summary and a blank line"
  fi
done < <(find docs -name '*.md' | sort)

# The IAM policies quoted in docs/operations/iam.md are deploy/'s, word for word.
iam_doc=$(cat docs/operations/iam.md)
for policy in deploy/iam-policy.json deploy/iam-interruptions.json; do
  text=$(cat "$policy")
  if [[ "$iam_doc" != *"$text"* ]]; then
    problem "docs/operations/iam.md: does not quote $policy as it is; copy it again"
  fi
done

if [ "$problems" -gt 0 ]; then
  echo "check-docs: $problems problem(s)" >&2
  exit 1
fi
echo "check-docs: README.md has $lines lines; links in ${#files[@]} files resolve"
