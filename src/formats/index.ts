/** File formats: ISMRMRD HDF5 datasets (native addon, optional). */
export {
  ADDON_RELATIVE_PATH,
  hdf5Available,
  hdf5LibraryVersion,
  hdf5UnavailableReason,
  IsmrmrdFile,
  normalizeGroup,
} from './ismrmrd-hdf5.js';
export type { GroupEntry, OpenOptions, RawAcquisition } from './ismrmrd-hdf5.js';
