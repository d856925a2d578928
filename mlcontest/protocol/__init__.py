"""The seed's endpoints, exactly as its client calls them (see PRODUCT.md, "seed protocol")."""
