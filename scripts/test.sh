#!/usr/bin/env bash
# `npm test`: every test, ending with one line "N passed, N failed".
# Steps: system tools, static checks (one test), build, OpenAPI lint (one test), bun tests (unit,
# integration, security, end-to-end, interop, Deno smoke), node --test over dist/lib.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
passed=0
failed=0

bash scripts/setup-test-system.sh || { echo "test setup failed"; echo "0 passed, 1 failed"; exit 1; }

echo "== static checks (tsc, biome, buf lint, generated code)"
if npm run --silent check; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== build (dist/drover, dist/lib)"
if ! npm run --silent build; then
  echo "build failed: nothing else can run"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi

echo "== OpenAPI document (spectral:oas, no warnings allowed)"
if bun scripts/openapi.ts .tmp/openapi.json &&
  spectral lint --quiet --ruleset .spectral.yaml --fail-severity=warn .tmp/openapi.json; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== bun test"
bun test --timeout 60000 ./lib ./ui ./test/integration ./test/contract ./test/security ./test/e2e ./test/ui ./test/interop ./test/deno 2>&1 | tee .tmp/bun-test.log
bun_pass=$(grep -E '^ *[0-9]+ pass$' .tmp/bun-test.log | tail -1 | grep -oE '[0-9]+' || echo 0)
bun_fail=$(grep -E '^ *[0-9]+ fail$' .tmp/bun-test.log | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$bun_pass" = 0 ] && [ "$bun_fail" = 0 ]; then bun_fail=1; echo "bun test reported nothing"; fi
passed=$((passed + bun_pass))
failed=$((failed + bun_fail))

echo "== node --test (the built library under Node $(node --version))"
node --test test/node/ 2>&1 | tee .tmp/node-test.log
node_pass=$(grep -E '^# pass [0-9]+' .tmp/node-test.log | grep -oE '[0-9]+' || echo 0)
node_fail=$(grep -E '^# fail [0-9]+' .tmp/node-test.log | grep -oE '[0-9]+' || echo 0)
if [ "$node_pass" = 0 ] && [ "$node_fail" = 0 ]; then node_fail=1; echo "node --test reported nothing"; fi
passed=$((passed + node_pass))
failed=$((failed + node_fail))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
