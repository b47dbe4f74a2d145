/**
 * The small part of dcmjs (0.51, which ships no types) that Gantry uses:
 * naturalised datasets to and from Part-10 bytes.
 */
declare module 'dcmjs' {
  /** A dataset by keyword (`PatientName`, `Rows`, …); `_vrMap` fixes VRs such as `PixelData: 'OW'`. */
  export type NaturalDataset = Record<string, unknown>;
  /** A dataset keyed by tag (`00100010`) with `{ vr, Value }` entries. */
  export type DenaturalDataset = Record<string, { vr: string; Value?: unknown[] }>;

  interface DicomMetaDictionaryStatic {
    denaturalizeDataset(dataset: NaturalDataset): DenaturalDataset;
    naturalizeDataset(dataset: DenaturalDataset): NaturalDataset;
  }
  interface DicomDictInstance {
    dict: DenaturalDataset;
    meta: DenaturalDataset;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  interface DicomDictStatic {
    new (meta: DenaturalDataset): DicomDictInstance;
  }
  interface DicomMessageStatic {
    readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDictInstance;
  }
  const dcmjs: {
    data: {
      DicomMetaDictionary: DicomMetaDictionaryStatic;
      DicomDict: DicomDictStatic;
      DicomMessage: DicomMessageStatic;
    };
  };
  export default dcmjs;
}
