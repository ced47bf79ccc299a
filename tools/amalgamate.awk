# The work of tools/amalgamate.sh (read that first). Runs entirely in BEGIN,
# reading files with getline; POSIX awk (Debian's mawk included).
# Inputs, from the environment: AM_CORE, AM_PLAT, AM_HEADERS (file lists,
# one a line), AM_BACKENDS, AM_PLATFORMS (tables), AM_VERSION, AM_OUT_C,
# AM_OUT_H (the files to write).

function die(msg) {
  printf "amalgamate: %s\n", msg > "/dev/stderr"
  failed = 1
  exit 1
}

function exists(f,    r, tmp) {
  r = (getline tmp < f)
  close(f)
  return r >= 0
}

function dirname(p) {
  sub(/\/[^\/]*$/, "", p)
  return p
}

# The last identifier in s ("static int *foo" -> "foo").
function last_ident(s) {
  if (!match(s, /[A-Za-z_][A-Za-z0-9_]*[^A-Za-z0-9_]*$/)) return ""
  s = substr(s, RSTART)
  match(s, /^[A-Za-z_][A-Za-z0-9_]*/)
  return substr(s, 1, RLENGTH)
}

function first_ident(s) {
  if (!match(s, /[A-Za-z_][A-Za-z0-9_]*/)) return ""
  return substr(s, RSTART, RLENGTH)
}

# The name a declaration line declares: the identifier before the first
# '(', '=', '[', ';' or '{', or the one in "(*name)".
function declared(s,    p) {
  if (match(s, /\(\*[ \t]*[A-Za-z_][A-Za-z0-9_]*/))
    return first_ident(substr(s, RSTART + 2))
  if (match(s, /[(=[;{]/)) s = substr(s, 1, RSTART - 1)
  return last_ident(s)
}

# "x" of an #include "x" line, else "".
function quoted_include(line) {
  if (line !~ /^[ \t]*#[ \t]*include[ \t]*"/) return ""
  sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", line)
  sub(/".*/, "", line)
  return line
}

# The macro an #define line defines, else "".
function defined_macro(line) {
  if (line !~ /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_]/) return ""
  sub(/^[ \t]*#[ \t]*define[ \t]+/, "", line)
  return first_ident(line)
}

function is_feature(m) {
  return m ~ /^(_GNU_SOURCE|_DEFAULT_SOURCE|_BSD_SOURCE|_POSIX_C_SOURCE|_XOPEN_SOURCE|_XOPEN_SOURCE_EXTENDED|_DARWIN_C_SOURCE|_NETBSD_SOURCE|_WIN32_WINNT|WINVER|WIN32_LEAN_AND_MEAN|NOMINMAX)$/
}

function add_name(f, n) {
  # "static struct {" names nothing: the tag of an anonymous type is no
  # name (its declarator follows the closing brace).
  if (n ~ /^(struct|union|enum|const|volatile|static|inline|unsigned|signed)$/)
    return
  if (n == "" || (f, n) in defines) return
  defines[f, n] = 1
  names_of[f] = names_of[f] " " n
}

# File-scope names of a .c file, as far as column-0 lines show them.
function scan_names(f,    line, in_enum, body, parts, i, k) {
  in_enum = 0
  while ((getline line < f) > 0) {
    if (in_enum) {
      if (line ~ /^}/) {
        in_enum = 0
        if (line ~ /^}[ \t]*[A-Za-z_]/) add_name(f, first_ident(line))
      } else if (line ~ /^[ \t]+[A-Za-z_]/) {
        add_name(f, first_ident(line))
      }
      continue
    }
    # An attribute names nothing: "static inline __attribute__((x)) int f("
    # declares f.
    gsub(/__attribute__[ \t]*\(\([^)]*\)\)/, "", line)
    if (line ~ /^static[ \t]/) add_name(f, declared(line))
    else if (line ~ /^typedef[ \t]/ && line !~ /\{/) add_name(f, declared(line))
    if (match(line, /^(typedef[ \t]+)?(struct|union|enum)[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\{/)) {
      body = line
      sub(/^(typedef[ \t]+)?(struct|union|enum)[ \t]+/, "", body)
      add_name(f, first_ident(body))
    }
    if (line ~ /^(typedef[ \t]+)?enum[^;(]*\{/) {
      if (line ~ /\}/) {
        body = line
        sub(/^[^{]*\{/, "", body)
        sub(/\}.*/, "", body)
        k = split(body, parts, ",")
        for (i = 1; i <= k; i++) add_name(f, first_ident(parts[i]))
      } else {
        in_enum = 1
      }
    }
    if (line ~ /^}[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*;/) add_name(f, first_ident(line))
  }
  close(f)
}

# The identifiers a file's code uses (comments and literals left out).
function scan_words(f,    line, in_comment, out, p, k, i, w) {
  in_comment = 0
  while ((getline line < f) > 0) {
    gsub(/"([^"\\]|\\.)*"/, " ", line)
    gsub(/'([^'\\]|\\.)*'/, " ", line)
    out = ""
    while (line != "") {
      if (in_comment) {
        p = index(line, "*/")
        if (!p) { line = ""; break }
        line = substr(line, p + 2)
        in_comment = 0
      }
      p = index(line, "/*")
      if (!p) { out = out " " line; break }
      out = out " " substr(line, 1, p - 1)
      line = substr(line, p + 2)
      in_comment = 1
    }
    sub(/\/\/.*/, "", out)
    gsub(/[^A-Za-z0-9_]+/, " ", out)
    k = split(out, w, " ")
    for (i = 1; i <= k; i++) words[f, w[i]] = 1
  }
  close(f)
}

# Feature-test macros anywhere in src/, to be defined at the top.
function scan_features(f,    line, m, v, g, key) {
  g = guard_of_dir(dirname(f))
  while ((getline line < f) > 0) {
    m = defined_macro(line)
    if (m == "" || !is_feature(m)) continue
    v = line
    sub(/^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*/, "", v)
    sub(/[ \t]*\/\*.*$/, "", v)
    key = g SUBSEP m
    if (key in feature_value) {
      if (feature_value[key] != v)
        die(f ": " m " defined as '" v "', elsewhere as '" feature_value[key] "'")
      continue
    }
    feature_value[key] = v
    nfeatures++
    feature_guard[nfeatures] = g
    feature_name[nfeatures] = m
  }
  close(f)
}

# "1" for the core (src/), else the platform's condition.
function guard_of_dir(d) {
  if (d == "src") return "1"
  if (!(d in platform_guard)) die(d ": not a platform directory")
  return platform_guard[d]
}

function both(a, b) {
  if (a == "1") return b
  if (b == "1") return a
  return a " && (" b ")"
}

# A file-scope name of f that another file of the same program defines too,
# or uses for something else (a local of the same name would shadow it),
# gets a per-file name in the amalgamation.
function find_collisions(    i, j, f, g, k, n, list, why) {
  for (i = 1; i <= nc; i++) {
    f = cfile[i]
    k = split(names_of[f], list, " ")
    for (j = 1; j <= nc; j++) {
      g = cfile[j]
      if (i == j || !share(f, g)) continue
      for (n = 1; n <= k; n++) {
        if ((f, list[n]) in renamed) continue
        if ((g, list[n]) in defines) why = "also defined by"
        else if ((g, list[n]) in words) why = "also a name in"
        else continue
        if (member_use(f, list[n]))
          die(f ": " list[n] " must be renamed in the single file (" why " " g \
              ") but is also a member name that file uses (->" list[n] \
              "): the rename, a macro, would change the member too; give the" \
              " file-scope " list[n] " another name")
        renamed[f, list[n]] = 1
        renames_of[f] = renames_of[f] " " list[n]
        collisions = collisions "\n *   " list[n] " of " f ": " why " " g
        nrenamed++
        # Nothing is wrong: the list is at the top of evq.c; -v shows it.
        if (ENVIRON["AM_VERBOSE"] != "")
          printf "amalgamate: renamed %s of %s: %s %s\n", list[n], f, why, g
      }
    }
  }
}

# Whether f names a struct member name (->name or .name), which a rename
# of its file-scope name would change too.
function member_use(f, name,    line, found) {
  found = 0
  while (!found && (getline line < f) > 0)
    found = line ~ ("(->|[.])[ \t]*" name "([^A-Za-z0-9_]|$)")
  close(f)
  return found
}

# Two files can be compiled into one program: the core goes with every
# platform, a platform only with itself.
function share(f, g) {
  return dirname(f) == "src" || dirname(g) == "src" || dirname(f) == dirname(g)
}

function rename_prefix(f,    id) {
  id = f
  sub(/^src\//, "", id)
  sub(/\.c$/, "", id)
  gsub(/[^A-Za-z0-9]/, "_", id)
  return "evq__" id "_"
}

function include_here(x, from, scope,    d, p, any, i) {
  # The public headers, beside evq.c.
  if (x == "evq.h" || x == "evq_net.h" || x == "evq_io.h") {
    if (!public_done[x]) print "#include \"" x "\"" > out_c
    else print "/* #include \"" x "\": above */" > out_c
    public_done[x] = 1
    return
  }
  d = dirname(from)
  if (exists(d "/" x)) { emit_header(d "/" x, scope); return }
  if (exists("src/" x)) { emit_header("src/" x, scope); return }
  if (d != "src") die(from ": #include \"" x "\": no such file in " d "/ or src/")
  # The core names a header each platform provides ("sys.h").
  any = 0
  for (i = 1; i <= nplatforms; i++) {
    p = platform_dir[i]
    if (!exists(p "/" x)) continue
    any = 1
    print "#if " platform_guard[p] > out_c
    emit_header(p "/" x, p)
    print "#endif /* " platform_guard[p] " */" > out_c
  }
  if (!any) die(from ": #include \"" x "\": not in src/ nor in any platform directory")
}

function emit_line(line,    m) {
  m = defined_macro(line)
  if (m != "" && is_feature(m)) {
    print "/* #define " m ": at the top of this file */" > out_c
    return
  }
  print line > out_c
}

function emit_header(h, scope,    line, x) {
  if ((h, "common") in seen || (h, scope) in seen) {
    print "/* #include \"" h "\": above */" > out_c
    return
  }
  seen[h, scope] = 1
  print "/* -------- " h " -------- */" > out_c
  # A header's static inline functions that this program does not call are
  # normal, and compilers say nothing of them in a header; clang would
  # here, where they are part of the main file.
  print "#ifdef __clang__" > out_c
  print "#pragma clang diagnostic push" > out_c
  print "#pragma clang diagnostic ignored \"-Wunused-function\"" > out_c
  print "#endif" > out_c
  while ((getline line < h) > 0) {
    x = quoted_include(line)
    if (x != "") include_here(x, h, scope)
    else emit_line(line)
  }
  close(h)
  print "#ifdef __clang__" > out_c
  print "#pragma clang diagnostic pop" > out_c
  print "#endif" > out_c
  print "/* -------- end of " h " -------- */" > out_c
}

function emit_source(f, scope,    line, x, n, last_include, depth, undefs,
                     m, list, k, i, p) {
  # Where the includes end (renames start after them, so no header text is
  # renamed) and which macros the file defines unconditionally.
  n = 0; last_include = 0; depth = 0; undefs = ""
  while ((getline line < f) > 0) {
    n++
    if (line ~ /^[ \t]*#[ \t]*include/) last_include = n
    if (line ~ /^[ \t]*#[ \t]*if/) depth++
    else if (line ~ /^[ \t]*#[ \t]*endif/) depth--
    m = defined_macro(line)
    if (depth == 0 && m != "" && !is_feature(m)) undefs = undefs " " m
  }
  close(f)
  p = rename_prefix(f)
  k = split(renames_of[f], list, " ")

  print "/* ======== " f " ======== */" > out_c
  n = 0
  if (last_include == 0)
    for (i = 1; i <= k; i++) print "#define " list[i] " " p list[i] > out_c
  while ((getline line < f) > 0) {
    n++
    x = quoted_include(line)
    if (x != "") include_here(x, f, scope)
    else emit_line(line)
    if (n == last_include)
      for (i = 1; i <= k; i++) print "#define " list[i] " " p list[i] > out_c
  }
  close(f)
  for (i = 1; i <= k; i++) print "#undef " list[i] > out_c
  # This file's macros end with it, as they would in its own translation
  # unit.
  k = split(undefs, list, " ")
  for (i = 1; i <= k; i++) print "#undef " list[i] > out_c
}

function emit_table(tmpl,    line, x, i, b, pre, post) {
  print "/* ======== backend table (" tmpl ") ======== */" > out_c
  while ((getline line < tmpl) > 0) {
    x = quoted_include(line)
    if (x != "") {
      include_here(x, tmpl, "common")
    } else if (line ~ /^@EVQ_BACKEND_DECLS@$/) {
      for (i = 1; i <= nbackends; i++) {
        b = backend_name[i]
        if (!(b in backend_file)) continue
        print "#if " backend_guard(b) > out_c
        print "extern const " backend_type[b] " evq__backend_" b ";" > out_c
        print "#endif" > out_c
      }
    } else if (index(line, "@EVQ_BACKEND_LIST@")) {
      pre = substr(line, 1, index(line, "@EVQ_BACKEND_LIST@") - 1)
      post = substr(line, index(line, "@EVQ_BACKEND_LIST@") + 18)
      print pre > out_c
      for (i = 1; i <= nbackends; i++) {
        b = backend_name[i]
        if (!(b in backend_file)) continue
        print "#if " backend_guard(b) > out_c
        print "    &evq__backend_" b "," > out_c
        print "#endif" > out_c
      }
      print "   " post > out_c
    } else if (line ~ /@[A-Z_]+@/) {
      die(tmpl ": placeholder this script does not know: " line)
    } else {
      print line > out_c
    }
  }
  close(tmpl)
}

function backend_guard(b) {
  return both(platform_guard[backend_dir[b]], backend_cond[b])
}

# The condition under which a file is compiled: its platform's, and its
# backend's if it defines one.
function file_guard(f,    line, b, g, type) {
  g = guard_of_dir(dirname(f))
  while ((getline line < f) > 0) {
    # A helper of one backend only (io_uring's ring.c) says so on a line of
    # its own, and is compiled where that backend is.
    if (line ~ /^\/\* amalgamate: part of the [a-z0-9_]+ backend \*\/$/) {
      b = line
      sub(/^\/\* amalgamate: part of the /, "", b)
      sub(/ backend.*/, "", b)
      if (!(b in backend_cond))
        die(f ": backend '" b "' has no line in the backend table of tools/amalgamate.sh")
      g = both(g, backend_cond[b])
      continue
    }
    if (line !~ /^const [A-Za-z_][A-Za-z0-9_]* evq__backend_[a-z0-9_]+ *=/) continue
    b = line
    sub(/^const /, "", b)
    type = first_ident(b)
    sub(/^[A-Za-z_][A-Za-z0-9_]* evq__backend_/, "", b)
    b = first_ident(b)
    if (!(b in backend_cond))
      die(f ": backend '" b "' has no line in the backend table of tools/amalgamate.sh")
    if (backend_dir[b] != dirname(f))
      die(f ": backend '" b "' is listed for " backend_dir[b] "/")
    backend_file[b] = f
    backend_type[b] = type
    g = both(g, backend_cond[b])
  }
  close(f)
  return g
}

BEGIN {
  failed = 0
  core = ENVIRON["AM_CORE"]; plat = ENVIRON["AM_PLAT"]
  headers = ENVIRON["AM_HEADERS"]; backends = ENVIRON["AM_BACKENDS"]
  platforms = ENVIRON["AM_PLATFORMS"]; version = ENVIRON["AM_VERSION"]
  out_c = ENVIRON["AM_OUT_C"]; out_h = ENVIRON["AM_OUT_H"]
  nplatforms = split(platforms, lines, "\n")
  k = 0
  for (i = 1; i <= nplatforms; i++) {
    if (split(lines[i], w, " ") < 2) continue
    cond = lines[i]
    sub(/^[^ \t]+[ \t]+/, "", cond)
    platform_dir[++k] = w[1]
    platform_guard[w[1]] = cond
  }
  nplatforms = k
  n = split(backends, lines, "\n")
  nbackends = 0
  for (i = 1; i <= n; i++) {
    if (split(lines[i], w, " ") < 3) continue
    cond = lines[i]
    sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", cond)
    backend_name[++nbackends] = w[1]
    backend_dir[w[1]] = w[2]
    backend_cond[w[1]] = cond
  }

  nc = 0
  n = split(core, list, "\n")
  for (i = 1; i <= n; i++) if (list[i] != "") cfile[++nc] = list[i]
  ncore = nc
  n = split(plat, list, "\n")
  for (i = 1; i <= n; i++) if (list[i] != "") cfile[++nc] = list[i]
  for (i = 1; i <= nc; i++) {
    scan_names(cfile[i])
    scan_words(cfile[i])
    scan_features(cfile[i])
    guard[cfile[i]] = file_guard(cfile[i])
  }
  n = split(headers, list, "\n")
  for (i = 1; i <= n; i++) if (list[i] != "") scan_features(list[i])
  find_collisions()

  # evq.h: the public header as it is.
  print "/* evq " version " (single-file distribution, made by tools/amalgamate.sh). */" > out_h
  while ((getline line < "include/evq.h") > 0) {
    if (quoted_include(line) != "") die("include/evq.h: quoted #include not supported")
    print line > out_h
  }
  close("include/evq.h")
  close(out_h)

  print "/* evq " version ": the whole library in one file, with evq.h, evq_net.h" > out_c
  print " * and evq_io.h beside it." > out_c
  print " * Made by tools/amalgamate.sh from the evq source tree; change the tree," > out_c
  print " * not this file. Build: cc -c evq.c, and link with -lpthread on POSIX" > out_c
  print " * systems, -lws2_32 -lntdll on Windows." > out_c
  print " *" > out_c
  print " * Backends, best first, each compiled where its condition holds:" > out_c
  for (i = 1; i <= nbackends; i++)
    if (backend_name[i] in backend_file)
      print " *   " backend_name[i] ": " backend_guard(backend_name[i]) > out_c
  if (collisions != "") {
    print " *" > out_c
    print " * File-scope names renamed here (per file), as other files of the" > out_c
    print " * same program define or use the same name:" collisions > out_c
  }
  print " */" > out_c
  print "" > out_c
  print "/* Feature-test macros of the sources, before any system header. */" > out_c
  for (i = 1; i <= nfeatures; i++) {
    g = feature_guard[i]
    m = feature_name[i]
    if (g != "1") print "#if " g > out_c
    print "#ifndef " m > out_c
    print "#define " m (feature_value[g, m] == "" ? "" : " " feature_value[g, m]) > out_c
    print "#endif" > out_c
    if (g != "1") print "#endif" > out_c
  }
  print "#ifndef EVQ_BUILDING" > out_c
  print "#define EVQ_BUILDING /* this is evq itself (EVQ_API exports) */" > out_c
  print "#endif" > out_c
  print "" > out_c

  for (i = 1; i <= nc; i++) {
    f = cfile[i]
    g = guard[f]
    if (g != "1") print "#if " g > out_c
    emit_source(f, i <= ncore ? "common" : dirname(f))
    if (g != "1") print "#endif /* " g " */" > out_c
  }
  emit_table("src/backends.c.in")
  close(out_c)
}

END {
  if (failed) exit 1
}
