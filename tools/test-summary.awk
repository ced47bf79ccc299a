# The work of tools/test-summary.sh (read that first). Input: the legs
# file; each ran leg's JUnit report is read with getline.

function unescape(s) {
  gsub(/&lt;/, "<", s)
  gsub(/&gt;/, ">", s)
  gsub(/&quot;/, "\"", s)
  gsub(/&apos;/, "'", s)
  gsub(/&amp;/, "\\&", s)
  return s
}

function attr(line, name,    v) {
  if (!match(line, " " name "=\"[^\"]*\"")) return ""
  v = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
  return unescape(v)
}

function add(list, item) {
  return list == "" ? item : list "; " item
}

# One finished <testcase>: classify it.
function finish(leg,    label) {
  label = (leg == native) ? tc_name : leg ":" tc_name
  if (tc_status == "run") {
    if (tc_skip_line != "") {
      failed++
      failures = add(failures, label " (passed but printed \"" tc_skip_line "\")")
    } else {
      passed++
    }
  } else if (tc_status == "notrun" && tc_skipped ~ /^SKIP_/) {
    if (tc_skip_line == "") {
      failed++
      failures = add(failures, label " (skipped without a \"SKIP: <reason>\" line)")
    } else {
      skipped++
      reason = tc_skip_line
      sub(/^SKIP:[ \t]*/, "", reason)
      skips = add(skips, label " - " reason)
      printf "  skipped: %s - %s\n", label, reason
    }
  } else if (tc_status == "disabled") {
    skipped++
    skips = add(skips, label " - disabled")
  } else {
    failed++
    failures = add(failures, label (tc_status == "notrun" ? " (not run: " tc_skipped ")" : ""))
  }
}

# Reads one leg's JUnit report; returns the number of cases in it.
function read_junit(file, leg,    line, n, text, in_out, p) {
  n = 0
  in_out = 0
  while ((getline line < file) > 0) {
    if (line ~ /<testcase /) {
      tc_name = attr(line, "name")
      tc_status = attr(line, "status")
      tc_skipped = ""
      tc_skip_line = ""
      n++
    }
    if (line ~ /<skipped /) tc_skipped = attr(line, "message")
    if (!in_out && index(line, "<system-out>")) {
      in_out = 1
      line = substr(line, index(line, "<system-out>") + 12)
    }
    if (in_out) {
      # The case's output, one line at a time, up to </system-out>.
      p = index(line, "</system-out>")
      text = unescape(p ? substr(line, 1, p - 1) : line)
      if (tc_skip_line == "" && text ~ /^SKIP:/) tc_skip_line = text
      if (!p) continue
      in_out = 0
      line = substr(line, p + 13)
    }
    if (index(line, "</testcase>")) finish(leg)
  }
  close(file)
  return n
}

# EVQ_REQUIRE_LEGS (names, space- or comma-separated): legs that must run.
# CI names those it installed the tools for, so a broken probe (mingw, wine)
# that turns a leg into "not run" fails the run instead of passing with 0
# failed.
BEGIN {
  FS = "|"
  n = split(ENVIRON["EVQ_REQUIRE_LEGS"], req, /[ ,]+/)
  for (i = 1; i <= n; i++) if (req[i] != "") required[req[i]] = 1
}

NR == 1 { native = $1 }

{
  name = $1; backends = $2; state = $3; junit = $4; rc = $5 + 0; why = $6
  label = backends == "" ? name : name "[" backends "]"
  if (state == "skipped") {
    notrun = add(notrun, name " - " why)
    if (name in required) {
      failed++
      failures = add(failures, name " leg did not run, and EVQ_REQUIRE_LEGS requires it: " why)
    }
    delete required[name]
    next
  }
  delete required[name]
  if (state == "failed") {
    failed++
    failures = add(failures, name " leg: " why)
    ran = add(ran, label " (FAILED)")
    next
  }
  ran = add(ran, label)
  before = failed
  if ((getline probe < junit) < 0) {
    failed++
    failures = add(failures, name " leg: no JUnit report " junit " (make test needs ctest 3.21 or newer)")
    next
  }
  close(junit)
  if (read_junit(junit, name) == 0) {
    failed++
    failures = add(failures, name " leg: no test cases ran")
  }
  # ctest failed for a reason its report does not show (a crash of ctest
  # itself, a timeout of the whole run): still a failure.
  if (rc != 0 && failed == before) {
    failed++
    failures = add(failures, name " leg: ctest exited with status " rc)
  }
}

END {
  for (name in required) {
    failed++
    failures = add(failures, name " leg, which EVQ_REQUIRE_LEGS requires, is unknown to make test")
  }
  gsub(/; /, ", ", ran)
  line = sprintf("evq tests: %d passed, %d failed, %d skipped (legs run: %s",
                 passed, failed, skipped, ran == "" ? "none" : ran)
  if (notrun != "") line = line "; not run: " notrun
  if (failures != "") {
    line = line "; FAILED: " failures
    printf "  FAILED: %s\n", failures
  }
  if (skips != "") line = line "; skipped: " skips
  print line ")"
  exit (failed > 0)
}
