# Sourced by the bench scripts. A script defines run_<name> for each command it times (including
# any sync it needs) and, if it wants, before_run (untimed, before every run), then calls
#   time_rounds ROUNDS BYTES name:label ...
# which runs the commands in turn ROUNDS times, prints each round, then each median wall time and
# throughput, and leaves the medians in med[<name>].
declare -A times med

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

time_rounds() {
  local rounds=$1 bytes=$2 spec n r t0 t1 i
  shift 2
  local names=() labels=()
  for spec in "$@"; do names+=("${spec%%:*}"); labels+=("${spec#*:}"); done
  for r in $(seq 1 "$rounds"); do
    for n in "${names[@]}"; do
      if declare -F before_run >/dev/null; then before_run; fi
      t0=$(date +%s.%N)
      "run_$n"
      t1=$(date +%s.%N)
      times[$n]="${times[$n]:-} $(echo "$t1 - $t0" | bc)"
    done
    echo "round $r:$(for n in "${names[@]}"; do printf ' %s=%ss' "$n" "$(echo "${times[$n]}" | awk '{print $NF}')"; done)"
  done
  printf '\n%-44s %10s %12s\n' "run (median of $rounds)" "seconds" "MB/s"
  for i in "${!names[@]}"; do
    n=${names[$i]}
    med[$n]=$(echo "${times[$n]}" | median)
    printf '%-44s %10.2f %12.0f\n' "${labels[$i]}" "${med[$n]}" "$(echo "$bytes / ${med[$n]} / 1000000" | bc -l)"
  done
}

# How many times the throughput of the command named second the one named first has.
ratio() { echo "${med[$2]} / ${med[$1]}" | bc -l; }

# The volumes with PREFIX that mke-backup copies as files, one a line, sorted (ucp-kv goes in as
# an etcd snapshot; ucp-metrics-data, ucp-node-certs and ucp-backup are left out by default).
copied_volumes() {
  local prefix=$1 v
  for v in $(docker volume ls -q | grep "^${prefix}ucp-" | sort); do
    case "${v#"$prefix"}" in ucp-metrics-data|ucp-node-certs|ucp-backup|ucp-kv) ;; *) echo "$v";; esac
  done
}

# Writes the bench passphrase into DIR/passphrase (0600) and prints that path: passphrases go to
# the commands in a file, never on a command line (where ps shows them).
passphrase_file() {
  local f="$1/passphrase"
  ( umask 077; printf '%s' "bench passphrase 0123456789" > "$f" )
  echo "$f"
}
