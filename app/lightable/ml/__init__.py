"""Model in the loop: devices, model registry, batch inference, data-engine scores.

torch is imported lazily: ``import lightable.ml`` (and every module here that the
GUI or CLI imports at start-up: ``tasks``, ``mapping``, ``uncertainty``,
``matching``, ``mistakes``) must not import torch. Modules that need torch
import it inside functions.
"""
