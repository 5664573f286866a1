"""How states and runs read to people: modes and placements (``modes``) and scripted
"what if" scenarios (``simulation``, behind ``crg simulate``)."""
