"""The Learn pages' bodies: attention_math (Q, K, V by hand, multi-head, cost) and positional."""
