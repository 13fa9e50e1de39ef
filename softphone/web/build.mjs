// Bundles the workspace, the child's chat page, the wallboard and the supervisors' report page
// into ../static (app.*, index.html; chat.*; wallboard.*; reports.*): what the app serves.
// The output is build output (gitignored); `make build-softphone` runs `npm ci` and this.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static");
const tmp = join(here, "..", "static.tmp");

await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
await build({
  // One bundle per page: the child's chat page carries nothing of the workspace (no SIP, no
  // volunteer texts), only what it needs.
  entryPoints: {
    app: join(here, "src", "main.ts"),
    chat: join(here, "src", "chat", "main.ts"),
    // The supervisors' wallboard (/wallboard): its own small page on the same modules.
    wallboard: join(here, "src", "wallboard", "main.ts"),
    // The supervisors' report page (reports.html): its own small bundle.
    reports: join(here, "src", "reports", "main.ts"),
  },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome109", "firefox115", "safari16"],
  outdir: tmp,
  legalComments: "linked",
  // JsSIP logs through `debug`, which is silent unless asked: nothing of a call reaches the console.
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
await copyFile(join(here, "src", "app.css"), join(tmp, "app.css"));
await copyFile(join(here, "src", "chat", "chat.css"), join(tmp, "chat.css"));
// The chat page's own icon: its CSP allows images from this origin only (no data: URL).
await copyFile(join(here, "src", "chat", "icon.svg"), join(tmp, "chat-icon.svg"));
await copyFile(join(here, "src", "wallboard.css"), join(tmp, "wallboard.css"));
await copyFile(join(here, "src", "reports", "reports.css"), join(tmp, "reports.css"));

// The page names its assets with a content hash in the query, so a new build is never mixed
// with a cached old one (the server revalidates them anyway).
const hash = async (name) =>
  createHash("sha256").update(await readFile(join(tmp, name))).digest("hex").slice(0, 12);
const assets = ["app.js", "app.css", "chat.js", "chat.css", "wallboard.js", "wallboard.css"];
assets.push("reports.js", "reports.css");
for (const page of ["index.html", "chat.html", "wallboard.html", "reports.html"]) {
  let html = await readFile(join(here, page), "utf8");
  for (const asset of assets) {
    html = html.replace(`/static/${asset}"`, `/static/${asset}?v=${await hash(asset)}"`);
  }
  await writeFile(join(tmp, page), html);
}

// Compressed copies beside the assets: the app hands them to browsers that accept them.
for (const name of assets) {
  const data = await readFile(join(tmp, name));
  await writeFile(join(tmp, name + ".gz"), gzipSync(data, { level: 9 }));
  await writeFile(join(tmp, name + ".br"), brotliCompressSync(data));
}

// Swap in one step: the app never serves half a build.
await rm(out, { recursive: true, force: true });
await rename(tmp, out);
console.log(`softphone: built into ${out}`);
