# median.awk — medians of RESULT lines (key=value fields) per daemon, and the ratio
# lvsd / keepalived, for the rows given as -v rows="key:label|key:label|...".
# Used by run-scale.sh --checks.
function v(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
function med(d, k,   n, i, j, t, a) {
  n = cnt[d]; for (i = 1; i <= n; i++) a[i] = val[d, k, i]
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return a[int((n + 1) / 2)]
}
BEGIN { nr = split(rows, row, "|") }
/^RESULT / {
  d = v("daemon"); n = ++cnt[d]
  for (i = 1; i <= nr; i++) { split(row[i], kv, ":"); val[d, kv[1], n] = v(kv[1]) + 0 }
}
END {
  if (!cnt["lvsd"] || !cnt["keepalived"]) { print "median: results missing"; exit 1 }
  printf "\nmedians of %d runs          keepalived        lvsd   lvsd/keepalived\n", cnt["lvsd"]
  for (i = 1; i <= nr; i++) {
    split(row[i], kv, ":"); a = med("keepalived", kv[1]); b = med("lvsd", kv[1])
    # -1: not seen within the script's limit
    printf "%-38s %10s  %10s   %s\n", kv[2], (a < 0 ? "never" : sprintf("%.0f", a)), (b < 0 ? "never" : sprintf("%.0f", b)),
      (a > 0 && b >= 0 ? sprintf("%.2f", b / a) : "-")
  }
}
