export {
  apply,
  ApplyBadRequestError,
  ApplyConflictError,
  defaultManager,
  recordUpdate,
  type ApplyConflict,
  type ManagerOptions,
} from './fieldmanager.js';
