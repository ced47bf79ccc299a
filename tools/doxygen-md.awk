# doxygen-md.awk FILE.md: the Markdown filter for Doxygen (docs/Doxyfile,
# FILTER_PATTERNS). The guide is written for GitHub, which makes an anchor
# of every heading; Doxygen needs explicit labels, and cannot follow links
# to files outside its input. So, outside code blocks and without changing
# the number of lines:
#  - every heading gets a label, "{#<page>-<GitHub's anchor>}", where <page>
#    is the file's name without .md (page-wide prefix: Doxygen labels share
#    one namespace with the header's groups), and the title "{#<page>-doc}";
#  - a link to "#anchor" becomes a link to that label, and a link to
#    "guide.md#anchor" one to the guide's;
#  - a link to another page of docs/ (design.md) stays, as Doxygen links
#    the Markdown files of its input (docs/Doxyfile's INPUT: all of docs/);
#  - a link to ../include/evq.h (or evq_net.h, evq_io.h) becomes a
#    reference to the header's page;
#  - any other relative link (examples/, ../README.md) keeps its text and
#    names its target as code, relative to the repository's root
#    (docs/examples/), since the HTML reference does not hold it.
function slug(s) {
  s = tolower(s)
  gsub(/[^a-z0-9 _-]/, "", s)
  gsub(/ /, "-", s)
  return s
}
function links(line,    out, pre, text, target, m) {
  out = ""
  while (match(line, /\[[^]]*\]\([^)]*\)/)) {
    pre = substr(line, 1, RSTART - 1)
    m = substr(line, RSTART, RLENGTH)
    line = substr(line, RSTART + RLENGTH)
    text = m; sub(/\]\(.*/, "", text); sub(/^\[/, "", text)
    target = m; sub(/^\[[^]]*\]\(/, "", target); sub(/\)$/, "", target)
    if (target ~ /^[a-z]+:/) {
      out = out pre m                       # http:, https:, mailto:
    } else if (target ~ /^#/) {
      out = out pre "[" text "](#" page "-" substr(target, 2) ")"
    } else if (target ~ /^[a-z]+\.md#/) {
      sub(/\.md#/, "-", target)
      out = out pre "[" text "](#" target ")"
    } else if (target ~ /^[a-z]+\.md$/) {
      out = out pre m                       # another page of the reference
    } else if (target ~ /include\/evq(_net|_io)?\.h$/) {
      hdr = target; sub(/^.*include\//, "", hdr)
      out = out pre "\\ref " hdr " \"" text "\""
    } else {
      # Relative to docs/, where the pages are; ../ is the repository's root.
      if (!sub(/^\.\.\//, "", target)) target = "docs/" target
      out = out pre (text == target || "docs/" text == target ? "`" target "`" : text " (`" target "`)")
    }
  }
  return out line
}
BEGIN {
  page = ARGV[1]
  sub(/.*\//, "", page)
  sub(/\.md$/, "", page)
}
/^[ \t]*(```|~~~)/ { fence = !fence; print; next }
fence { print; next }
/^#+ / && !/\{#[^}]*\}[ \t]*$/ {
  title = $0
  sub(/^#+ /, "", title)
  # The title (level 1) labels the page itself, \ref guide-doc: not
  # "guide", as a page's name may be a group's too (networking).
  print links($0) " {#" page (/^# / ? "-doc" : "-" slug(title)) "}"
  next
}
# "::name" is an explicit link request to Doxygen, even in a code span
# ([::ffff:1.2.3.4] in networking.md); "%" before a word keeps it text.
{ line = links($0); gsub(/::ffff/, "::%ffff", line); print line }
