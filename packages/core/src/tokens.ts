// The reserved token ids every text vocabulary starts with (see @ssl/data's Vocabulary).

/** Token id of padding ([PAD]); every text tensor is 0-padded. */
export const PAD_ID = 0;
/** Token id of out-of-vocabulary words ([UNK]). */
export const UNK_ID = 1;
/** Token id of the classification token ([CLS]). */
export const CLS_ID = 2;
/** Token id of the separator token ([SEP]). */
export const SEP_ID = 3;
/** Token id of the mask token ([MASK]). */
export const MASK_ID = 4;
