# ring/: placeholder until the channel lands.
