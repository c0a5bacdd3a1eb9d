/** RFC 7644 §3.5.2 PATCH: envelope parsing, the pure patch engine and group-membership planning. */
export { parsePatchRequest } from './parse.js';
export { applyPatch, cloneJson } from './apply.js';
export { planGroupPatch, validateMember, parseMemberList, type GroupPatchStep } from './members.js';
