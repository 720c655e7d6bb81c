"""BertSumExt (Liu & Lapata 2019): encoder, inter-sentence Transformer, sentence classifier."""
