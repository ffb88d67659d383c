// The gen stage: `kgate gen` calls renderSuite, `kgate build` calls buildSuite.
export { renderSuite, renderFamily, renderTemplate, loadTemplates, makeHandlebars, binaryName, cString, cIdent } from './render.js';
export type { RenderRequest, RenderResult, RenderedSource, Templates } from './render.js';
export { buildSuite, ccIdentity, DEFAULT_CFLAGS } from './build.js';
export type { BuildRequest, BuildResult, BuildStep, BuildEvent } from './build.js';
export { MANIFEST_NAME } from './manifest.js';
export type { BuildManifest, BuiltBinary } from './manifest.js';
export { generate, generateAndBuild, buildEventsTo, buildStage } from './stage.js';
export type { GenRequest } from './stage.js';
