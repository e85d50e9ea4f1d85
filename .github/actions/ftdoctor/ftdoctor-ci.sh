#!/usr/bin/env bash
# The steps of the ftdoctor composite action (action.yml beside this file), one subcommand each:
#   install | check | configs | verdict
# Inputs arrive as FTDOCTOR_* variables (never spliced into the script text); results go to $GITHUB_OUTPUT.
# The check and config steps record their exit code instead of failing, so that every config gets its
# annotations; `verdict` fails the job with the worst code.
set -euo pipefail

tool_env="${RUNNER_TEMP:-/tmp}/ftdoctor-env"
ftdoctor="${FTDOCTOR_BIN:-$tool_env/bin/ftdoctor}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
output="${GITHUB_OUTPUT:-/dev/null}"

install() {
  # Its own venv: installing the doctor into the training environment would change what it diagnoses.
  python3 -m venv "$tool_env"
  local spec="$GITHUB_ACTION_PATH/../../.."
  if [ -n "${FTDOCTOR_VERSION:-}" ]; then
    spec="ftdoctor-cli==$FTDOCTOR_VERSION"
  fi
  "$tool_env/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
  "$ftdoctor" --version
}

last=0
run_ftdoctor() {
  # Annotations on stdout, where the runner reads them; the exit code in $last, not the end of the script.
  # No fail-on input: the repository's [tool.ftdoctor] fail-on decides (else warning), as for the hooks.
  last=0
  local fail_on=()
  if [ -n "${FTDOCTOR_FAIL_ON:-}" ]; then
    fail_on=(--fail-on "$FTDOCTOR_FAIL_ON")
  fi
  "$ftdoctor" "$@" --format github --step-summary "$summary" ${fail_on[@]+"${fail_on[@]}"} || last=$?
}

check() {
  local facts="${FTDOCTOR_FACTS:-}"
  if [ -n "$facts" ]; then
    run_ftdoctor check "$facts"
  else
    local python
    python=$(command -v "${FTDOCTOR_PYTHON:-python3}") || {
      echo "::error title=ftdoctor::no interpreter '${FTDOCTOR_PYTHON:-python3}' on this runner"
      exit 3
    }
    facts="${RUNNER_TEMP:-/tmp}/ftdoctor-facts.json"
    local args=(check --python "$python" --save-facts "$facts" --force)
    if [ "${FTDOCTOR_VERIFY:-true}" = "true" ]; then
      args+=(--verify)
    fi
    run_ftdoctor "${args[@]}"
  fi
  echo "facts=$facts" >> "$output"
  echo "exit-code=$last" >> "$output"
}

configs() {
  shopt -s globstar nullglob
  local patterns files=() worst=0 config
  read -r -a patterns <<< "${FTDOCTOR_CONFIGS:-}"
  for pattern in "${patterns[@]}"; do
    # shellcheck disable=SC2206  # the pattern is meant to expand into the files it matches
    files+=($pattern)
  done
  if [ "${#files[@]}" -eq 0 ]; then
    echo "::error title=ftdoctor::no training config matches: ${FTDOCTOR_CONFIGS:-}"
    echo "exit-code=3" >> "$output"
    return
  fi
  for config in "${files[@]}"; do
    run_ftdoctor train "$config" --dry-run --facts "$FTDOCTOR_FACTS"
    if [ "$last" -gt "$worst" ]; then
      worst=$last
    fi
  done
  echo "exit-code=$worst" >> "$output"
}

verdict() {
  local worst=0 code
  for code in ${FTDOCTOR_CODES:-}; do
    if [ "$code" -gt "$worst" ]; then
      worst=$code
    fi
  done
  echo "exit-code=$worst" >> "$output"
  exit "$worst"
}

case "${1:-}" in
  install | check | configs | verdict) "$1" ;;
  *)
    echo "usage: $0 install|check|configs|verdict" >&2
    exit 3
    ;;
esac
