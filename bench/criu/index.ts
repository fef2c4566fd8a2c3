/**
 * The CRIU lane (issue 13): a real `criu dump --leave-running` of the
 * workload trees, timed, checked against the manifest, and the tree checked
 * intact afterwards.
 *
 *   findCriu()                  which CRIU (PATH or the build cache), or skipped: why
 *   buildCriu(src)              bench/criu/build.sh (npm run criu:build)
 *   criuDump(tree, opts)        one dump of one started (not frozen) workload -> CriuResult
 *   contextLine(result)         "of a Y ms dump, X ms (P %) is file state"
 *   parseDumpLog, readImages, checkImages, classifyRefusal: the parts, for tests and reports
 */
export { findCriu, buildCriu, buildStatus, defaultTarball, criuCache, cachedBuilds, recordedBuildSeconds, type CriuFound, type BuildResult } from './find.js';
export { criuDump, contextLine, externalStdioFlags, frozenCgroupOf, killCriuChildren, DEFAULT_FLAGS, type CriuDumpOptions, type CriuResult, type CriuTiming, type CriuTree, type Intact } from './dump.js';
export { parseDumpLog, type DumpLog, type TaskStages } from './log.js';
export { readImages, readImagesWith, critDecode, critPython, decodeAll, type CriuImages, type DumpStats } from './images.js';
export { checkImages, CRIU_METHOD, type ImageCheck } from './check.js';
export { classifyRefusal, headlineError, KNOWN_CAUSES, type Refusal, type RefusalCause } from './refusals.js';
