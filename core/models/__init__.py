"""One file per model kind; MODELS maps a kind to its class."""
from .base import AttentionModel, ModelOutput
from .decoder import Decoder, Generation
from .encoder import Encoder
from .rnn import RNNSeq2Seq
from .seq2seq import Seq2Seq
from .vit import ViT, patchify

MODELS = {"encoder": Encoder, "decoder": Decoder, "seq2seq": Seq2Seq, "vit": ViT,
          "rnn": RNNSeq2Seq}


def build_model(cfg):
    """The model for a config (the config's class fixes the kind)."""
    from ..config import CONFIGS
    for kind, cls in CONFIGS.items():
        if type(cfg) is cls:
            return MODELS[kind](cfg)
    raise ValueError(f"no model for config {type(cfg).__name__}")


__all__ = ["AttentionModel", "ModelOutput", "Decoder", "Generation", "Encoder", "Seq2Seq",
           "RNNSeq2Seq", "ViT", "patchify", "MODELS", "build_model"]
