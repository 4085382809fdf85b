#!/usr/bin/env bash
# Build the VS Code extension: regenerate the grammar from dsl/tariff.lark, install the
# client library and @vscode/vsce from npm, and package editors/vscode/takst-tariff.vsix.
# Needs node and npm; python with takst installed (for the grammar).
set -euo pipefail
cd "$(dirname "$0")"
python scripts/build_grammar.py
npm install --no-audit --no-fund
npx vsce package --skip-license --allow-missing-repository --out takst-tariff.vsix
echo "built $(pwd)/takst-tariff.vsix; install with: code --install-extension takst-tariff.vsix"
