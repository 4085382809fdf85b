// The VS Code client of the takst language server: starts `takst lsp` over stdio for
// every .tariff file. The command is the setting takst.server.command (default: takst).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const configured = vscode.workspace.getConfiguration("takst").get("server.command", ["takst"]);
  const [command, ...args] = configured.length ? configured : ["takst"];
  const serverOptions = {
    command,
    args: [...args, "lsp"],
    transport: TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "tariff" }, { scheme: "untitled", language: "tariff" }],
  };
  client = new LanguageClient("takst", "takst language server", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `takst: cannot start \`${[command, ...args, "lsp"].join(" ")}\` (${err.message}). ` +
        "Install takst with its lsp extra (pip install 'takst[lsp]') or set takst.server.command."
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
