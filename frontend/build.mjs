// Build the front-end islands into service/static/dist/ with esbuild.
//
// Output format: IIFE (one self-contained, minified <script> per island, no module loader, no
// code splitting), so a Jinja page just adds `<script src="/static/dist/<name>.js" defer>`.
// Each island mounts itself on DOMContentLoaded on the elements carrying its data attribute.
//
//   dist/app.css                 site stylesheet (frontend/app.css)
//   dist/viewer.js  + viewer.css   [data-bpmn-viewer]     bpmn-js NavigatedViewer + progress colours
//   dist/modeler.js + modeler.css  [data-bpmn-modeler]    bpmn-js Modeler + SpiffWorkflow panel
//   dist/forms.js                [data-jsonschema-form]  JSON Schema form renderer (styled by app.css)
//   dist/dashboard.js            [data-chart]           ECharts bar / pie / line
//   dist/migrate.js              [data-migration]       preview and run instance migrations
//   dist/dmn-editor.js           [data-dmn-editor]      DMN decision tables as editable grids, validate, deploy
//   dist/fonts/bpmn-*.{woff2,…}  bpmn-font icons referenced by modeler.css (nothing loads from the internet)
//   dist/*.LEGAL.txt             licence comments found in the bundled code (when there are any)
//   dist/THIRD-PARTY-LICENSES.txt  licence and notice files of every bundled npm package
//   dist/manifest.json           file → bytes, for a glance at bundle sizes
//
// `node frontend/build.mjs --dev` adds source maps and skips minification.
import { readFile, rm, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'service', 'static', 'dist');
const dev = process.argv.includes('--dev');

const entryPoints = {
  viewer: 'frontend/viewer.js',
  modeler: 'frontend/modeler.js',
  forms: 'frontend/forms.js',
  dashboard: 'frontend/dashboard.js',
  migrate: 'frontend/migrate.js',
  'dmn-editor': 'frontend/dmn-editor.js',
  app: 'frontend/app.css',
};

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

// Stale hashed font files would pile up otherwise; the Makefile re-touches .built afterwards.
await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, path]) => [name, join(root, path)])),
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15', 'edge90'],
  minify: !dev,
  sourcemap: dev ? 'linked' : false,
  legalComments: dev ? 'inline' : 'linked',
  charset: 'utf8', // keep Chinese text readable in the bundles instead of \uXXXX escapes
  assetNames: 'fonts/[name]-[hash]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
  logLevel: 'warning',
  metafile: true,
});

// The bundles carry other projects' code: ship their licence texts beside them.
async function licenceText(pkgDir) {
  const parts = [];
  for (const name of await readdir(pkgDir)) {
    if (/^(licen[cs]e|notice)(\.(md|txt))?$/i.test(name)) parts.push(await readFile(join(pkgDir, name), 'utf8'));
  }
  return parts.join('\n');
}
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.add(match[1]);
}
const notices = [];
for (const name of [...packages].sort()) {
  const dir = join(root, 'node_modules', name);
  const { version, license } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  notices.push(`==== ${name} ${version} (${license}) ====\n\n${(await licenceText(dir)).trim()}\n`);
}
await writeFile(join(outdir, 'THIRD-PARTY-LICENSES.txt'), notices.join('\n'));

const manifest = {};
for (const file of (await listFiles(outdir)).sort()) {
  manifest[relative(outdir, file)] = (await stat(file)).size;
}
await writeFile(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const [file, size] of Object.entries(manifest)) {
  if (/\.(js|css)$/.test(file)) console.log(`  ${file.padEnd(22)} ${kb(size).padStart(10)}`);
}
console.log(`built ${Object.keys(manifest).length} files into ${relative(root, outdir)}/`);
